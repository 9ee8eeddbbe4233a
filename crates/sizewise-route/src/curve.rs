//! Router evaluation as RouteLLM defines it: quality against the share of large-model calls
//! as a threshold sweeps, PGR (the share of the quality gap recovered), APGR (its mean over
//! call shares, the area under the PGR curve) and CPT(x%) (the share of large calls needed to
//! recover x% of the gap).

use serde::Serialize;

/// One eval item as both models answered it.
#[derive(Debug, Clone, PartialEq)]
pub struct Pair {
    /// Quality of the small model's answer (1/0 for accuracy, or the item's metric value).
    pub small: f64,
    /// Quality of the large model's answer.
    pub large: f64,
    /// USD of the small model's answer.
    pub small_usd: f64,
    /// USD of the large model's answer.
    pub large_usd: f64,
    /// The router's score: higher goes large first.
    pub score: f64,
}

/// One point of the curve.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Point {
    /// The share of large calls the threshold was calibrated for.
    pub target_share: f64,
    /// The threshold.
    pub threshold: f64,
    /// The share of large calls it gave on these items.
    pub share: f64,
    /// Mean quality of the answers chosen.
    pub quality: f64,
    /// Share of the gap recovered: (quality − small) / (large − small).
    pub pgr: f64,
    /// USD per 1,000 requests.
    pub usd_per_1k: f64,
}

/// The whole evaluation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CurveReport {
    /// Items.
    pub n: usize,
    /// Quality of always-small.
    pub small_quality: f64,
    /// Quality of always-large.
    pub large_quality: f64,
    /// The curve, by share of large calls.
    pub points: Vec<Point>,
    /// Mean PGR over large-call shares (area under PGR, trapezoids over the realised shares).
    pub apgr: f64,
    /// Share of large calls to recover 50% of the gap (linear interpolation; `None` when the
    /// gap is not positive).
    pub cpt50: Option<f64>,
    /// The same for 80%.
    pub cpt80: Option<f64>,
    /// A random router's APGR (its curve is the straight line): 0.5.
    pub random_apgr: f64,
    /// An oracle's APGR: the large model only where it is better.
    pub oracle_apgr: f64,
}

/// The point the router reaches with threshold `t`.
pub fn point(pairs: &[Pair], target_share: f64, t: f64, weak: f64, strong: f64) -> Point {
    let n = pairs.len().max(1) as f64;
    let (mut large, mut q, mut usd) = (0usize, 0.0, 0.0);
    for p in pairs {
        if p.score >= t {
            large += 1;
            q += p.large;
            usd += p.large_usd;
        } else {
            q += p.small;
            usd += p.small_usd;
        }
    }
    let quality = q / n;
    Point {
        target_share,
        threshold: t,
        share: large as f64 / n,
        quality,
        pgr: pgr(quality, weak, strong),
        usd_per_1k: usd / n * 1000.0,
    }
}

fn pgr(q: f64, weak: f64, strong: f64) -> f64 {
    if strong - weak > 1e-12 {
        (q - weak) / (strong - weak)
    } else {
        0.0
    }
}

/// Area under PGR over share in [0, 1], by trapezoids between the points (sorted by share,
/// with (0, 0) and (1, 1) added).
fn area(points: &[(f64, f64)]) -> f64 {
    let mut p: Vec<(f64, f64)> = points.to_vec();
    p.push((0.0, 0.0));
    p.push((1.0, 1.0));
    p.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    p.windows(2)
        .map(|w| (w[1].0 - w[0].0) * (w[0].1 + w[1].1) / 2.0)
        .sum()
}

/// The smallest share whose interpolated PGR reaches `x`.
fn cpt(points: &[(f64, f64)], x: f64) -> Option<f64> {
    let mut p: Vec<(f64, f64)> = points.to_vec();
    p.push((0.0, 0.0));
    p.push((1.0, 1.0));
    p.sort_by(|a, b| a.0.total_cmp(&b.0));
    if p[0].1 >= x {
        return Some(p[0].0);
    }
    for w in p.windows(2) {
        let ((s0, g0), (s1, g1)) = (w[0], w[1]);
        if g1 >= x && g0 < x {
            return Some(s0 + (x - g0) / (g1 - g0) * (s1 - s0));
        }
    }
    None
}

/// The curve for `pairs` at each `(target share, threshold)`.
pub fn evaluate(pairs: &[Pair], thresholds: &[(f64, f64)]) -> CurveReport {
    let n = pairs.len().max(1) as f64;
    let weak = pairs.iter().map(|p| p.small).sum::<f64>() / n;
    let strong = pairs.iter().map(|p| p.large).sum::<f64>() / n;
    let points: Vec<Point> = thresholds
        .iter()
        .map(|&(s, t)| point(pairs, s, t, weak, strong))
        .collect();
    let gap_positive = strong - weak > 1e-12;
    let curve: Vec<(f64, f64)> = points.iter().map(|p| (p.share, p.pgr)).collect();
    // The oracle sends exactly the items where large is better, cheapest first.
    let better = pairs.iter().filter(|p| p.large > p.small).count() as f64 / n;
    let oracle_q = pairs.iter().map(|p| p.large.max(p.small)).sum::<f64>() / n;
    let oracle = if gap_positive {
        let top = pgr(oracle_q, weak, strong);
        // PGR climbs linearly to `top` at share `better`, then stays there.
        area(&[(better, top), (1.0, top.max(1.0))])
    } else {
        0.0
    };
    CurveReport {
        n: pairs.len(),
        small_quality: weak,
        large_quality: strong,
        apgr: if gap_positive { area(&curve) } else { 0.0 },
        cpt50: if gap_positive { cpt(&curve, 0.5) } else { None },
        cpt80: if gap_positive { cpt(&curve, 0.8) } else { None },
        points,
        random_apgr: 0.5,
        oracle_apgr: oracle,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn calibrated(scores: &[f64], shares: &[f64]) -> Vec<(f64, f64)> {
        shares
            .iter()
            .map(|&s| (s, crate::difficulty::threshold_for_share(scores, s)))
            .collect()
    }

    fn pair(small: f64, large: f64, score: f64) -> Pair {
        Pair {
            small,
            large,
            small_usd: 0.0,
            large_usd: 1e-3,
            score,
        }
    }

    #[test]
    fn a_perfect_ranking_recovers_the_gap_with_the_fewest_large_calls() {
        // 10 items: the small model fails the 4 with the highest scores.
        let pairs: Vec<Pair> = (0..10)
            .map(|i| {
                if i < 4 {
                    pair(0.0, 1.0, 0.9 - i as f64 * 0.01)
                } else {
                    pair(1.0, 1.0, 0.1)
                }
            })
            .collect();
        let scores: Vec<f64> = pairs.iter().map(|p| p.score).collect();
        let shares: Vec<f64> = (0..=10).map(|i| i as f64 / 10.0).collect();
        let r = evaluate(&pairs, &calibrated(&scores, &shares));
        assert_eq!(r.small_quality, 0.6);
        assert_eq!(r.large_quality, 1.0);
        assert_eq!(r.points[0].share, 0.0);
        assert_eq!(r.points[0].quality, 0.6);
        assert_eq!(r.points[10].share, 1.0);
        assert!((r.points[4].pgr - 1.0).abs() < 1e-9);
        assert!((r.cpt50.unwrap() - 0.2).abs() < 1e-9, "{:?}", r.cpt50);
        assert!((r.cpt80.unwrap() - 0.32).abs() < 1e-9, "{:?}", r.cpt80);
        assert!(
            r.apgr > 0.75 && r.apgr <= r.oracle_apgr + 1e-9,
            "{} vs {}",
            r.apgr,
            r.oracle_apgr
        );
        assert!((r.points[10].usd_per_1k - 1.0).abs() < 1e-9);
    }

    #[test]
    fn a_score_that_knows_nothing_is_about_random() {
        // Scores unrelated to failures: alternate.
        let pairs: Vec<Pair> = (0..100usize)
            .map(|i| {
                pair(
                    if i.is_multiple_of(2) { 0.0 } else { 1.0 },
                    1.0,
                    ((i * 37) % 100) as f64 / 100.0,
                )
            })
            .collect();
        let scores: Vec<f64> = pairs.iter().map(|p| p.score).collect();
        let shares: Vec<f64> = (0..=10).map(|i| i as f64 / 10.0).collect();
        let r = evaluate(&pairs, &calibrated(&scores, &shares));
        assert!((r.apgr - 0.5).abs() < 0.1, "{}", r.apgr);
    }

    #[test]
    fn no_gap_gives_no_cpt() {
        let pairs = vec![pair(1.0, 1.0, 0.5), pair(0.0, 0.0, 0.2)];
        let r = evaluate(&pairs, &calibrated(&[0.5, 0.2], &[0.0, 0.5, 1.0]));
        assert_eq!(r.cpt50, None);
        assert_eq!(r.apgr, 0.0);
    }
}
