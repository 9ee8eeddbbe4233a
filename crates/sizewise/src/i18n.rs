//! Words of the reports in English and Brazilian Portuguese.

use clap::ValueEnum;

/// Report language.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Lang {
    /// English.
    #[value(name = "en")]
    En,
    /// Português do Brasil.
    #[value(name = "pt-BR", alias = "pt-br", alias = "pt")]
    PtBr,
}

/// The ten dimensions, in the article's order.
pub const DIMENSIONS: [&str; 10] = [
    "size",
    "training_data",
    "training_time",
    "compute",
    "inference",
    "context_window",
    "cost",
    "performance",
    "latency",
    "quality",
];

/// A phrase in `lang`.
pub fn t(lang: Lang, key: &str) -> &'static str {
    let pt = lang == Lang::PtBr;
    match key {
        "size" => {
            if pt {
                "Tamanho do modelo"
            } else {
                "Size"
            }
        }
        "training_data" => {
            if pt {
                "Dados de treinamento"
            } else {
                "Training data"
            }
        }
        "training_time" => {
            if pt {
                "Tempo de treinamento"
            } else {
                "Training time"
            }
        }
        "compute" => {
            if pt {
                "Poder computacional"
            } else {
                "Compute power"
            }
        }
        "inference" => {
            if pt {
                "Inferência"
            } else {
                "Inference"
            }
        }
        "context_window" => {
            if pt {
                "Janela de contexto"
            } else {
                "Context window"
            }
        }
        "cost" => {
            if pt {
                "Custos"
            } else {
                "Costs"
            }
        }
        "performance" => {
            if pt {
                "Desempenho"
            } else {
                "Performance"
            }
        }
        "latency" => {
            if pt {
                "Latência"
            } else {
                "Latency"
            }
        }
        "quality" => {
            if pt {
                "Qualidade das respostas"
            } else {
                "Response quality"
            }
        }
        "dimension" => {
            if pt {
                "Dimensão"
            } else {
                "Dimension"
            }
        }
        "verdict" => {
            if pt {
                "Veredito"
            } else {
                "Verdict"
            }
        }
        "title" => {
            if pt {
                "Quadro comparativo"
            } else {
                "Comparison table"
            }
        }
        "params" => {
            if pt {
                "parâmetros"
            } else {
                "params"
            }
        }
        "undisclosed" => {
            if pt {
                "não divulgado"
            } else {
                "undisclosed"
            }
        }
        "per_param" => {
            if pt {
                "por parâmetro"
            } else {
                "per param"
            }
        }
        "gpu_hours_on" => {
            if pt {
                "GPU-horas em"
            } else {
                "GPU-hours on"
            }
        }
        "of_usable" => {
            if pt {
                "de"
            } else {
                "of"
            }
        }
        "usable" => {
            if pt {
                "utilizáveis"
            } else {
                "usable"
            }
        }
        "does_not_fit" => {
            if pt {
                "não cabe"
            } else {
                "does not fit"
            }
        }
        "memory_bound" => {
            if pt {
                "limitado por memória"
            } else {
                "memory-bound"
            }
        }
        "compute_bound" => {
            if pt {
                "limitado por computação"
            } else {
                "compute-bound"
            }
        }
        "per_stream" => {
            if pt {
                "tok/s por fluxo"
            } else {
                "tok/s per stream"
            }
        }
        "kv_per_token" => {
            if pt {
                "de KV por token"
            } else {
                "KV per token"
            }
        }
        "per_month" => {
            if pt {
                "/mês"
            } else {
                "/month"
            }
        }
        "per_1m_out" => {
            if pt {
                "por 1M tokens de saída em uso pleno"
            } else {
                "per 1M output tokens at full use"
            }
        }
        "request_too_long" => {
            if pt {
                "requisição de {n} tokens não cabe: {cut} cortados"
            } else {
                "a request of {n} tokens does not fit: {cut} cut"
            }
        }
        "replicas" => {
            if pt {
                "réplicas para a carga"
            } else {
                "replicas for the load"
            }
        }
        "no_price" => {
            if pt {
                "sem preço no catálogo"
            } else {
                "no price in the catalog"
            }
        }
        "per_1m_in_out" => {
            if pt {
                "por 1M tokens de entrada/saída"
            } else {
                "per 1M in/out tokens"
            }
        }
        "tokens" => "tokens",
        "only_runnable" => {
            if pt {
                "só esta coluna roda a carga"
            } else {
                "the only column that can run this workload"
            }
        }
        "counted" => {
            if pt {
                "contados da arquitetura"
            } else {
                "counted from the architecture"
            }
        }
        "batch" => {
            if pt {
                "lote"
            } else {
                "batch"
            }
        }
        "note" => {
            if pt {
                "nota"
            } else {
                "note"
            }
        }
        "excluded" => {
            if pt {
                "fora dos vereditos de memória, velocidade, custo, latência e privacidade, pois não rodam esta carga"
            } else {
                "left out of the memory, speed, cost, latency and privacy verdicts, as they cannot run this workload"
            }
        }
        "on_prem" => {
            if pt {
                "dados ficam em"
            } else {
                "data stays on"
            }
        }
        "leaves" => {
            if pt {
                "dados vão ao fornecedor (API)"
            } else {
                "data goes to the vendor (API)"
            }
        }
        "measure" => {
            if pt {
                "meça com `sizewise bench`"
            } else {
                "measure with `sizewise bench`"
            }
        }
        "no_score" => {
            if pt {
                "sem pontuação publicada"
            } else {
                "no published score"
            }
        }
        "estimated" => {
            if pt {
                "estimado"
            } else {
                "estimated"
            }
        }
        "published" => {
            if pt {
                "publicado"
            } else {
                "published"
            }
        }
        "measured" => {
            if pt {
                "medido"
            } else {
                "measured"
            }
        }
        "smaller" => {
            if pt {
                "vezes menor que"
            } else {
                "times smaller than"
            }
        }
        "smallest" => {
            if pt {
                "menor"
            } else {
                "smallest"
            }
        }
        "most_data" => {
            if pt {
                "mais tokens por parâmetro"
            } else {
                "most tokens per parameter"
            }
        }
        "cheapest_train" => {
            if pt {
                "treino mais barato"
            } else {
                "cheapest to train"
            }
        }
        "least_memory" => {
            if pt {
                "menos memória"
            } else {
                "least memory"
            }
        }
        "fastest_decode" => {
            if pt {
                "geração mais rápida"
            } else {
                "fastest generation"
            }
        }
        "largest_window" => {
            if pt {
                "maior janela"
            } else {
                "largest window"
            }
        }
        "cheapest" => {
            if pt {
                "mais barato para esta carga"
            } else {
                "cheapest for this workload"
            }
        }
        "private" => {
            if pt {
                "opções com dados no local"
            } else {
                "options keep data on premises"
            }
        }
        "lowest_latency" => {
            if pt {
                "menor latência ponta a ponta"
            } else {
                "lowest end-to-end latency"
            }
        }
        "best_mmlu" => {
            if pt {
                "maior MMLU publicado (configurações diferem)"
            } else {
                "highest published MMLU (settings differ)"
            }
        }
        "not_comparable" => {
            if pt {
                "sem dados comparáveis"
            } else {
                "nothing comparable"
            }
        }
        "workload" => {
            if pt {
                "Carga"
            } else {
                "Workload"
            }
        }
        "requests_day" => {
            if pt {
                "requisições/dia"
            } else {
                "requests/day"
            }
        }
        "prompt" => {
            if pt {
                "tokens de entrada"
            } else {
                "prompt tokens"
            }
        }
        "output" => {
            if pt {
                "tokens de saída"
            } else {
                "output tokens"
            }
        }
        "legend" => {
            if pt {
                "Cada célula diz de onde vem: [E] estimado (arquitetura x ficha técnica), [P] publicado (catálogo, com fonte), [M] medido. Faixas p10..p90 com --explain ou --format json."
            } else {
                "Each cell says where it comes from: [E] estimated (architecture x datasheet), [P] published (catalog, with source), [M] measured. Bands p10..p90 with --explain or --format json."
            }
        }
        _ => "",
    }
}

/// `en` or `pt`, as `lang` asks: for sentences built with numbers, which [`t`]'s fixed
/// phrases cannot hold.
pub fn tr(lang: Lang, en: impl Into<String>, pt: impl Into<String>) -> String {
    if lang == Lang::PtBr {
        pt.into()
    } else {
        en.into()
    }
}

/// `text` with its numbers written the Brazilian way: `2,761.5` becomes `2.761,5` and `$`
/// becomes `US$ `. Only numbers that stand alone are touched: digits inside a name
/// (`qwen2.5-7b`, `llama-3.1-70b`, `a100`), a path or a URL are not.
pub fn localize(text: &str, lang: Lang) -> String {
    if lang != Lang::PtBr {
        return text.to_string();
    }
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len() + 8);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let prev = i.checked_sub(1).map(|j| chars[j]);
        let free = prev.is_none_or(|p| {
            !(p.is_alphanumeric() || matches!(p, '-' | '_' | '.' | '/' | ',' | ':'))
        });
        let starts_number = |k: usize| chars.get(k).is_some_and(char::is_ascii_digit);
        if c == '$' && free && (starts_number(i + 1) || chars.get(i + 1) == Some(&'-')) {
            out.push_str("US$ ");
            i += 1;
            continue;
        }
        let after_dollar = prev == Some('$');
        if c.is_ascii_digit() && (free || after_dollar) {
            while i < chars.len() {
                let d = chars[i];
                if d.is_ascii_digit() {
                    out.push(d);
                } else if matches!(d, '.' | ',') && starts_number(i + 1) {
                    out.push(if d == '.' { ',' } else { '.' });
                } else {
                    break;
                }
                i += 1;
            }
            continue;
        }
        out.push(c);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn numbers_are_localized_and_names_are_not() {
        let pt = |s: &str| localize(s, Lang::PtBr);
        assert_eq!(pt("cerca de 2,237 anos"), "cerca de 2.237 anos");
        assert_eq!(pt("$2,761/mês, 1.43 s"), "US$ 2.761/mês, 1,43 s");
        assert_eq!(
            pt("3.80B params; 2.15 GiB @ q4_k_m"),
            "3,80B params; 2,15 GiB @ q4_k_m"
        );
        assert_eq!(pt("$0.15 / $0.60 per 1M"), "US$ 0,15 / US$ 0,60 per 1M");
        for same in [
            "qwen2.5-7b",
            "llama-3.1-70b@2xnvidia-h100-sxm",
            "https://arxiv.org/abs/2404.14219",
            "2026-07-24",
            "p10..p90",
            "MMLU 80.73",
        ] {
            let want = if same == "MMLU 80.73" {
                "MMLU 80,73"
            } else {
                same
            };
            assert_eq!(pt(same), want);
        }
        assert_eq!(localize("2,237 years", Lang::En), "2,237 years");
    }
}
