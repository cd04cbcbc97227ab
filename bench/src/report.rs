//! The report of a run: results.csv and meta.txt -> the medians over the
//! rounds, the per-round ratios of each comparison, the targets; written as
//! table.md (also printed), summary.csv and chart.png. `kv-bench report`
//! re-renders a run's directory.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use crate::args::Args;
use crate::cases::PAIRS;
use crate::row::Row;
use crate::{chart, table, targets};

/// The font of the chart.
pub const FONT: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

/// Facts about the run (meta.txt).
pub type Meta = BTreeMap<String, String>;

/// Median, lowest and highest of some figures.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Spread {
    /// Of the finite `values`; `None` when there are none.
    pub fn of(values: &[f64]) -> Option<Spread> {
        let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        v.sort_by(f64::total_cmp);
        Some(Spread {
            median: median_sorted(&v)?,
            min: *v.first()?,
            max: *v.last()?,
        })
    }
}

fn median_sorted(v: &[f64]) -> Option<f64> {
    let n = v.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(v[n / 2]),
        _ => Some((v[n / 2 - 1] + v[n / 2]) / 2.0),
    }
}

/// The median of the finite `values`.
pub fn median(values: &[f64]) -> Option<f64> {
    Spread::of(values).map(|s| s.median)
}

/// The peak runs of one case on one stack, one per round.
pub struct Group<'a> {
    pub first: &'a Row,
    pub rows: Vec<&'a Row>,
}

impl Group<'_> {
    /// req/s of the rounds that passed their check.
    pub fn rps(&self) -> Option<Spread> {
        Spread::of(&self.passed(|r| r.rps))
    }

    /// Server CPU per request of the rounds that passed, microseconds.
    pub fn cpu(&self) -> Option<Spread> {
        Spread::of(&self.passed(Row::cpu_us_per_req))
    }

    /// The median of a figure over the rounds that passed.
    pub fn median_of(&self, figure: impl Fn(&Row) -> f64) -> Option<f64> {
        median(&self.passed(figure))
    }

    fn passed(&self, figure: impl Fn(&Row) -> f64) -> Vec<f64> {
        self.rows
            .iter()
            .filter(|r| r.ok())
            .map(|r| figure(r))
            .collect()
    }

    /// `ok`, or the first failure and how many rounds failed.
    pub fn check(&self) -> String {
        let failed: Vec<&&Row> = self.rows.iter().filter(|r| !r.ok()).collect();
        match failed.first() {
            None => "ok".into(),
            Some(first) => format!(
                "{} of {} rounds: {}",
                failed.len(),
                self.rows.len(),
                first.check
            ),
        }
    }
}

/// Peak rows grouped by case and stack, in the order they first ran.
pub fn groups(rows: &[Row]) -> Vec<Group<'_>> {
    let mut out: Vec<Group> = Vec::new();
    for row in rows.iter().filter(|r| r.mode == "peak") {
        match out
            .iter_mut()
            .find(|g| g.first.id == row.id && g.first.target == row.target)
        {
            Some(g) => g.rows.push(row),
            None => out.push(Group {
                first: row,
                rows: vec![row],
            }),
        }
    }
    out
}

/// One comparison: subject / base, round by round.
pub struct Comparison {
    pub label: String,
    /// The case ids of the two sides.
    pub base: String,
    pub subject: String,
    /// `(round, req/s ratio, server CPU per request ratio)`.
    pub rounds: Vec<(u32, f64, f64)>,
}

impl Comparison {
    /// The req/s ratios.
    pub fn rps(&self) -> Option<Spread> {
        Spread::of(&self.rounds.iter().map(|r| r.1).collect::<Vec<_>>())
    }

    /// The CPU per request ratios.
    pub fn cpu(&self) -> Option<Spread> {
        Spread::of(&self.rounds.iter().map(|r| r.2).collect::<Vec<_>>())
    }
}

fn compare(label: String, base: &Group, subject: &Group) -> Comparison {
    let rounds = subject
        .rows
        .iter()
        .filter(|s| s.ok())
        .filter_map(|s| {
            let b = base.rows.iter().find(|b| b.round == s.round && b.ok())?;
            Some((
                s.round,
                s.rps / b.rps,
                s.cpu_us_per_req() / b.cpu_us_per_req(),
            ))
        })
        .collect();
    Comparison {
        label,
        base: base.first.id.clone(),
        subject: subject.first.id.clone(),
        rounds,
    }
}

/// The comparisons of the run: B / A of every case in an A/B run, else
/// those of [`PAIRS`] whose two cases ran.
pub fn comparisons(groups: &[Group], meta: &Meta) -> Vec<Comparison> {
    let find = |id: &str, target: Option<&str>| {
        groups
            .iter()
            .find(|g| g.first.id == id && target.map_or(true, |t| g.first.target == t))
    };
    if meta.get("ab").map(String::as_str) == Some("yes") {
        let mut out = Vec::new();
        for g in groups.iter().filter(|g| g.first.target == "A") {
            if let Some(b) = find(&g.first.id, Some("B")) {
                out.push(compare(format!("{}: B / A", g.first.label), g, b));
            }
        }
        return out;
    }
    PAIRS
        .iter()
        .filter_map(|p| {
            let (base, subject) = (find(p.base, None)?, find(p.subject, None)?);
            Some(compare(p.label.to_owned(), base, subject))
        })
        .collect()
}

/// Runs the subcommand.
pub fn run(args: &Args) -> Result<(), String> {
    let dir = args.get::<String>("dir")?;
    write(Path::new(&dir), Path::new(&args.text_or("font", FONT)))
}

/// Reads `dir`'s results.csv and meta.txt; writes and prints the report.
pub fn write(dir: &Path, font: &Path) -> Result<(), String> {
    let read = |name: &str| {
        let path = dir.join(name);
        fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))
    };
    let rows = read("results.csv")?
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(Row::from_csv)
        .collect::<Result<Vec<_>, _>>()?;
    let meta: Meta = read("meta.txt")?
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let groups = groups(&rows);
    let comparisons = comparisons(&groups, &meta);
    let targets = targets::targets(&rows, &groups, &comparisons, &meta);
    let text = table::render(&rows, &groups, &comparisons, &targets, &meta);
    fs::write(dir.join("table.md"), &text).map_err(|e| e.to_string())?;
    fs::write(
        dir.join("summary.csv"),
        targets::summary_csv(&comparisons, &targets),
    )
    .map_err(|e| e.to_string())?;
    let title = format!(
        "kv-gateway benchmark, {} run {}: median peak req/s per case",
        meta.get("mode").map_or("?", String::as_str),
        meta.get("started").map_or("?", String::as_str)
    );
    chart::draw(&groups, &title, &dir.join("chart.png"), font)?;
    print!("{text}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::CpuTime;

    fn row(id: &str, target: &str, round: u32, rps: f64, cpu_s: f64) -> Row {
        Row {
            round,
            id: id.into(),
            label: id.into(),
            target: target.into(),
            mode: "peak".into(),
            requests: (rps * 10.0) as u64,
            rps,
            front: CpuTime {
                user_s: cpu_s,
                system_s: 0.0,
            },
            check: "ok".into(),
            ..Row::default()
        }
    }

    #[test]
    fn medians_and_spreads() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&[f64::NAN]), None);
        let s = Spread::of(&[1.2, 0.9, 1.5]).unwrap();
        assert_eq!((s.median, s.min, s.max), (1.2, 0.9, 1.5));
    }

    #[test]
    fn a_b_runs_compare_b_to_a_round_by_round() {
        let rows = vec![
            row("get", "A", 1, 100.0, 1.0),
            row("get", "B", 1, 120.0, 0.9),
            row("get", "A", 2, 100.0, 1.0),
            row("get", "B", 2, 110.0, 1.0),
        ];
        let groups = groups(&rows);
        assert_eq!(groups.len(), 2);
        let meta: Meta = [("ab".to_owned(), "yes".to_owned())].into();
        let c = comparisons(&groups, &meta);
        assert_eq!(c.len(), 1);
        let rps = c[0].rps().unwrap();
        assert!((rps.min - 1.1).abs() < 1e-9 && (rps.max - 1.2).abs() < 1e-9);
        // CPU per request: 0.9 s / 1200 requests over 1.0 s / 1000 requests.
        assert!((c[0].cpu().unwrap().min - 0.75).abs() < 1e-9);
    }

    #[test]
    fn failed_rounds_are_left_out() {
        let mut bad = row("webdis-get", "webdis", 2, 1.0, 1.0);
        bad.check = "FAIL: no result".into();
        let rows = vec![
            row("get", "gateway", 1, 130.0, 1.0),
            row("webdis-get", "webdis", 1, 100.0, 1.0),
            row("get", "gateway", 2, 140.0, 1.0),
            bad,
        ];
        let groups = groups(&rows);
        let c = comparisons(&groups, &Meta::new());
        assert_eq!(c[0].rounds.len(), 1);
        assert!(groups[1].check().starts_with("1 of 2 rounds"));
    }
}
