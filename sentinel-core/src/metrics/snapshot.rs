//! [`MetricsSnapshot`]: every metric as read at one moment, the value the bindings'
//! `gateway.metrics()` return and the source of the Prometheus text.

use serde::ser::{SerializeMap, SerializeStruct};
use serde::{Serialize, Serializer};

use super::histogram::HistogramValue;

/// Every metric family of a gateway (and its host) at one moment, in a stable order.
///
/// Serialized (the bindings' `gateway.metrics()`) as an object keyed by metric name:
///
/// ```json
/// {"sentinel_decisions_total": {"type": "counter", "help": "...",
///   "samples": [{"labels": {"status": "EXECUTED"}, "value": 3}]},
///  "sentinel_scorer_duration_seconds": {"type": "histogram", "help": "...",
///   "samples": [{"labels": {"scorer": "groq"}, "count": 1, "sum": 0.21,
///                "buckets": {"0.005": 0, "...": 0, "+Inf": 1}}]}}
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct MetricsSnapshot {
    /// The families, in registration order.
    pub families: Vec<Family>,
}

/// One metric family: a name, its help text, its type and its labelled samples.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Family {
    /// The metric name (`sentinel_decisions_total`, `..._seconds`).
    pub name: &'static str,
    /// One line saying what is counted.
    pub help: &'static str,
    /// Counter, gauge or histogram.
    pub kind: MetricKind,
    /// One sample per label set.
    pub samples: Vec<Sample>,
}

/// The type of a metric family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MetricKind {
    /// Only ever goes up (until the process restarts).
    Counter,
    /// Goes up and down.
    Gauge,
    /// Observations in buckets, with a count and a sum.
    Histogram,
}

impl MetricKind {
    /// `counter`, `gauge` or `histogram`, as in the Prometheus text format.
    pub fn as_str(self) -> &'static str {
        match self {
            MetricKind::Counter => "counter",
            MetricKind::Gauge => "gauge",
            MetricKind::Histogram => "histogram",
        }
    }
}

/// One labelled value of a family.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Sample {
    /// Label names and values, in order.
    pub labels: Vec<(&'static str, String)>,
    /// The value.
    pub value: SampleValue,
}

/// The value of a sample.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum SampleValue {
    /// A counter's or a gauge's value.
    Number(f64),
    /// A histogram's buckets, count and sum.
    Histogram(HistogramValue),
}

impl MetricsSnapshot {
    /// The family named `name`.
    pub fn family(&self, name: &str) -> Option<&Family> {
        self.families.iter().find(|f| f.name == name)
    }

    /// The value of the counter or gauge `name` with exactly these labels (in any order).
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        match &self.sample(name, labels)?.value {
            SampleValue::Number(n) => Some(*n),
            SampleValue::Histogram(_) => None,
        }
    }

    /// The histogram `name` with exactly these labels (in any order).
    pub fn histogram(&self, name: &str, labels: &[(&str, &str)]) -> Option<&HistogramValue> {
        match &self.sample(name, labels)?.value {
            SampleValue::Histogram(h) => Some(h),
            SampleValue::Number(_) => None,
        }
    }

    fn sample(&self, name: &str, labels: &[(&str, &str)]) -> Option<&Sample> {
        self.family(name)?.samples.iter().find(|s| {
            s.labels.len() == labels.len()
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.iter().any(|(sk, sv)| sk == k && sv == v))
        })
    }
}

/// A bucket bound as Prometheus writes it: `0.005`, `1`, `+Inf`.
pub(crate) fn bound(le: f64) -> String {
    if le.is_infinite() {
        "+Inf".to_owned()
    } else {
        le.to_string()
    }
}

impl Serialize for MetricsSnapshot {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.families.len()))?;
        for family in &self.families {
            map.serialize_entry(family.name, &FamilyBody(family))?;
        }
        map.end()
    }
}

struct FamilyBody<'a>(&'a Family);

impl Serialize for FamilyBody<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("Family", 3)?;
        s.serialize_field("type", self.0.kind.as_str())?;
        s.serialize_field("help", self.0.help)?;
        s.serialize_field("samples", &self.0.samples)?;
        s.end()
    }
}

struct Labels<'a>(&'a [(&'static str, String)]);

impl Serialize for Labels<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

struct Buckets<'a>(&'a [(f64, u64)]);

impl Serialize for Buckets<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (le, n) in self.0 {
            map.serialize_entry(&bound(*le), n)?;
        }
        map.end()
    }
}

impl Serialize for Sample {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match &self.value {
            SampleValue::Number(n) => {
                let mut s = serializer.serialize_struct("Sample", 2)?;
                s.serialize_field("labels", &Labels(&self.labels))?;
                // Counts are whole numbers: keep them integers for the bindings.
                if n.fract() == 0.0 && n.abs() < 9.0e15 {
                    s.serialize_field("value", &(*n as i64))?;
                } else {
                    s.serialize_field("value", n)?;
                }
                s.end()
            }
            SampleValue::Histogram(h) => {
                let mut s = serializer.serialize_struct("Sample", 4)?;
                s.serialize_field("labels", &Labels(&self.labels))?;
                s.serialize_field("count", &h.count)?;
                s.serialize_field("sum", &h.sum)?;
                s.serialize_field("buckets", &Buckets(&h.buckets))?;
                s.end()
            }
        }
    }
}
