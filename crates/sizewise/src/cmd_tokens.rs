//! `sizewise tokens`: how a text splits into tokens, and what that means for
//! each model's context window and input cost.

use std::io::Read;
use std::path::PathBuf;

use anstyle::{AnsiColor, Style};
use anyhow::Context;
use clap::Args;
use serde::Serialize;
use sizewise_catalog::Catalog;
use sizewise_tokens::{Tokenized, Tokenizer};

use crate::human;
use crate::table;

/// Arguments of `sizewise tokens`.
#[derive(Args)]
#[command(after_help = "Examples:
  sizewise tokens \"Porque o tamanho importa\"
  sizewise tokens --file contract.txt --tokenizer o200k --tokenizer cl100k
  cat notes.md | sizewise tokens - --model gpt-4o-mini --model llama-3.1-8b
  sizewise tokens \"hello world\" --tokenizer cl100k --json
Tokenizers: o200k (GPT-4o family), cl100k (GPT-4, GPT-3.5), p50k, r50k (GPT-3),
a path to a Hugging Face tokenizer.json, or a .gguf model file (its own vocabulary).
Models whose own tokenizer is not available are counted with o200k and marked ≈;
with one tokenizer file and --model ids, those models are counted with that file:
  sizewise tokens --file doc.txt -t SmolLM2-135M-Instruct.Q4_1.gguf -m smollm2-135m")]
pub struct TokensArgs {
    /// The text; `-` reads standard input.
    text: Option<String>,
    /// Read the text from this file.
    #[arg(long, short, conflicts_with = "text")]
    file: Option<PathBuf>,
    /// Tokenizer to use (repeatable). Default: o200k and cl100k.
    #[arg(long = "tokenizer", short = 't', value_name = "NAME|PATH")]
    tokenizers: Vec<String>,
    /// Only these models in the fit-and-cost table (repeatable). Default: all.
    #[arg(long = "model", short = 'm', value_name = "ID")]
    models: Vec<String>,
    /// Do not show the token boundaries.
    #[arg(long)]
    no_split: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct TokenizerOut {
    name: String,
    count: usize,
    ids: Vec<u32>,
    tokens: Vec<String>,
}

#[derive(Serialize)]
struct ModelOut {
    id: String,
    tokens: usize,
    tokenizer: String,
    exact: bool,
    context_window: Option<u64>,
    fits: Option<bool>,
    share_of_window: Option<f64>,
    input_cost_usd: Option<f64>,
    price_as_of: Option<String>,
}

#[derive(Serialize)]
struct Out {
    chars: usize,
    bytes: usize,
    tokenizers: Vec<TokenizerOut>,
    models: Vec<ModelOut>,
}

fn read_text(args: &TokensArgs) -> anyhow::Result<String> {
    if let Some(f) = &args.file {
        return std::fs::read_to_string(f)
            .with_context(|| format!("cannot read {} as UTF-8 text", f.display()));
    }
    match args.text.as_deref() {
        Some("-") | None => {
            if args.text.is_none() && std::io::IsTerminal::is_terminal(&std::io::stdin()) {
                anyhow::bail!(
                    "no text given\n  hint: sizewise tokens \"some text\", --file FILE, or pipe text with `-`"
                );
            }
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .context("reading standard input as UTF-8 text")?;
            Ok(s)
        }
        Some(t) => Ok(t.to_string()),
    }
}

fn split_view(t: &Tokenized, colour: bool, limit: usize) -> String {
    let styles = [
        Style::new()
            .bg_color(Some(AnsiColor::Blue.into()))
            .fg_color(Some(AnsiColor::White.into())),
        Style::new()
            .bg_color(Some(AnsiColor::Magenta.into()))
            .fg_color(Some(AnsiColor::White.into())),
        Style::new()
            .bg_color(Some(AnsiColor::Green.into()))
            .fg_color(Some(AnsiColor::Black.into())),
        Style::new()
            .bg_color(Some(AnsiColor::Yellow.into()))
            .fg_color(Some(AnsiColor::Black.into())),
    ];
    let mut s = String::new();
    for (i, p) in t.pieces().iter().enumerate().take(limit) {
        let shown = p.replace('\n', "↵\n").replace('\t', "→");
        if colour {
            let st = styles[i % styles.len()];
            s.push_str(&format!("{st}{shown}{st:#}"));
        } else {
            if i > 0 {
                s.push('│');
            }
            s.push_str(&shown);
        }
    }
    if t.count() > limit {
        s.push_str(&format!(" … ({} more tokens)", t.count() - limit));
    }
    s
}

/// `sizewise tokens`.
pub fn tokens(catalog: &Catalog, args: TokensArgs) -> anyhow::Result<()> {
    let text = read_text(&args)?;
    let names: Vec<String> = if args.tokenizers.is_empty() {
        vec!["o200k".into(), "cl100k".into()]
    } else {
        args.tokenizers.clone()
    };
    let mut results: Vec<Tokenized> = Vec::new();
    for n in &names {
        let tk = Tokenizer::from_name(n)?;
        results.push(tk.encode(&text)?);
    }
    // Models: their own tokenizer when sizewise ships it, else o200k, marked ≈.
    let mut extra: Vec<Tokenized> = Vec::new();
    let mut count_with = |name: &str| -> anyhow::Result<usize> {
        if let Some(t) = results.iter().chain(extra.iter()).find(|t| t.name == name) {
            return Ok(t.count());
        }
        let t = Tokenizer::from_name(name)?.encode(&text)?;
        let c = t.count();
        extra.push(t);
        Ok(c)
    };
    let selected: Vec<&sizewise_catalog::Model> = if args.models.is_empty() {
        catalog.models().collect()
    } else {
        args.models
            .iter()
            .map(|id| catalog.model(id))
            .collect::<Result<_, _>>()?
    };
    // One tokenizer file with explicit --model ids: those models use that file.
    let files: Vec<&Tokenized> = results
        .iter()
        .filter(|t| !sizewise_tokens::BUILTIN.contains(&t.name.as_str()))
        .collect();
    let own_file = match (files.as_slice(), args.models.is_empty()) {
        ([one], false) => Some((one.name.clone(), one.count())),
        _ => None,
    };
    let mut models = Vec::new();
    for m in selected {
        let (tk, exact) = match (m.tokenizer.as_deref(), &own_file) {
            (Some(t), _) if sizewise_tokens::BUILTIN.contains(&t) => (t.to_string(), true),
            (_, Some((name, _))) => (name.clone(), true),
            _ => ("o200k".to_string(), false),
        };
        let n = match &own_file {
            Some((name, count)) if *name == tk => *count,
            _ => count_with(&tk)?,
        };
        models.push(ModelOut {
            id: m.id.clone(),
            tokens: n,
            tokenizer: tk,
            exact,
            context_window: m.context_window,
            fits: m.context_window.map(|w| n as u64 <= w),
            share_of_window: m.context_window.map(|w| n as f64 / w as f64),
            input_cost_usd: m
                .api
                .as_ref()
                .map(|a| n as f64 * a.input_usd_per_mtok / 1e6),
            price_as_of: m.api.as_ref().map(|a| a.as_of.clone()),
        });
    }
    if args.json {
        let out = Out {
            chars: text.chars().count(),
            bytes: text.len(),
            tokenizers: results
                .iter()
                .map(|t| TokenizerOut {
                    name: t.name.clone(),
                    count: t.count(),
                    ids: t.ids.clone(),
                    tokens: t.pieces().iter().map(|p| p.to_string()).collect(),
                })
                .collect(),
            models,
        };
        return table::print_json(&out);
    }
    let colour = anstream::AutoStream::choice(&std::io::stdout()) != anstream::ColorChoice::Never;
    let mut s = format!(
        "{} characters, {} bytes\n",
        text.chars().count(),
        text.len()
    );
    for t in &results {
        s.push_str(&format!("\n{}: {} tokens\n", t.name, t.count()));
        if !args.no_split {
            s.push_str(&split_view(t, colour, 400));
            s.push('\n');
        }
    }
    let mut tbl = table::new(&["model", "tokens", "context window", "fits", "input cost"]);
    for m in &models {
        tbl.add_row(vec![
            m.id.clone(),
            format!("{}{}", if m.exact { "" } else { "≈" }, m.tokens),
            m.context_window
                .map(|w| {
                    format!(
                        "{} ({:.1}% used)",
                        human::window(w),
                        100.0 * m.tokens as f64 / w as f64
                    )
                })
                .unwrap_or_else(|| "unknown".into()),
            match m.fits {
                Some(true) => "yes".into(),
                Some(false) => format!(
                    "no: {} tokens cut",
                    m.tokens as u64 - m.context_window.unwrap_or(0)
                ),
                None => "?".into(),
            },
            match (&m.input_cost_usd, &m.price_as_of) {
                (Some(c), Some(d)) => format!("{} (prices of {d})", human::usd(*c)),
                _ => "self-hosted / no API price".into(),
            },
        ]);
    }
    s.push_str(&format!("\n{tbl}"));
    if models.iter().any(|m| !m.exact) {
        s.push_str("\n≈ counted with o200k: the model's own tokenizer is not shipped (pass its tokenizer.json or .gguf with --tokenizer and --model to count exactly).");
    }
    table::print(&s)
}
