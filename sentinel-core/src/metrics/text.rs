//! The Prometheus text exposition format (version 0.0.4), what `GET /metrics` serves.

use std::fmt::Write;

use super::snapshot::{MetricsSnapshot, SampleValue, bound};

/// The `Content-Type` of [`MetricsSnapshot::to_prometheus`]'s output.
pub const PROMETHEUS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

impl MetricsSnapshot {
    /// The snapshot in the Prometheus text format: `# HELP` and `# TYPE` per family, one
    /// line per sample (`_bucket`, `_sum` and `_count` for histograms).
    pub fn to_prometheus(&self) -> String {
        let mut out = String::with_capacity(4096);
        for family in &self.families {
            let _ = writeln!(out, "# HELP {} {}", family.name, escape_help(family.help));
            let _ = writeln!(out, "# TYPE {} {}", family.name, family.kind.as_str());
            for sample in &family.samples {
                match &sample.value {
                    SampleValue::Number(n) => {
                        line(&mut out, family.name, "", &sample.labels, None, *n);
                    }
                    SampleValue::Histogram(h) => {
                        for (le, n) in &h.buckets {
                            let le = bound(*le);
                            line(
                                &mut out,
                                family.name,
                                "_bucket",
                                &sample.labels,
                                Some(&le),
                                *n as f64,
                            );
                        }
                        line(&mut out, family.name, "_sum", &sample.labels, None, h.sum);
                        line(
                            &mut out,
                            family.name,
                            "_count",
                            &sample.labels,
                            None,
                            h.count as f64,
                        );
                    }
                }
            }
        }
        out
    }
}

fn line(
    out: &mut String,
    name: &str,
    suffix: &str,
    labels: &[(&'static str, String)],
    le: Option<&str>,
    value: f64,
) {
    out.push_str(name);
    out.push_str(suffix);
    if !labels.is_empty() || le.is_some() {
        out.push('{');
        let mut first = true;
        let all = labels
            .iter()
            .map(|(k, v)| (*k, v.as_str()))
            .chain(le.map(|le| ("le", le)));
        for (k, v) in all {
            if !first {
                out.push(',');
            }
            first = false;
            out.push_str(k);
            out.push_str("=\"");
            escape_label(v, out);
            out.push('"');
        }
        out.push('}');
    }
    out.push(' ');
    if value.is_infinite() {
        out.push_str(if value > 0.0 { "+Inf" } else { "-Inf" });
    } else if value.is_nan() {
        out.push_str("NaN");
    } else {
        let _ = write!(out, "{value}");
    }
    out.push('\n');
}

/// Label values escape `\`, `"` and line feeds.
fn escape_label(value: &str, out: &mut String) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// Help texts escape `\` and line feeds.
fn escape_help(help: &str) -> String {
    help.replace('\\', "\\\\").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::super::snapshot::{Family, MetricKind, Sample};
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        let snapshot = MetricsSnapshot {
            families: vec![Family {
                name: "x_total",
                help: "a\nb",
                kind: MetricKind::Counter,
                samples: vec![Sample {
                    labels: vec![("route", "a\"b\\c\nd".to_owned())],
                    value: SampleValue::Number(2.0),
                }],
            }],
        };
        assert_eq!(
            snapshot.to_prometheus(),
            "# HELP x_total a\\nb\n# TYPE x_total counter\nx_total{route=\"a\\\"b\\\\c\\nd\"} 2\n"
        );
    }
}
