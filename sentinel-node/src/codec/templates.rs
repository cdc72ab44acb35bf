//! The registry of shapes and templates, and the per-thread copies that find one without a lock.

use super::*;

thread_local! {
    pub(super) static BUFFERS: RefCell<Buffers> = RefCell::new(Buffers::default());
    /// The last shapes this thread met, by fingerprint, newest last.
    pub(super) static RECENT_SHAPES: RefCell<Vec<Recent>> = const { RefCell::new(Vec::new()) };
}

/// Every shape and template numbered so far.
#[derive(Default)]
pub(super) struct Registry {
    pub(super) by_fingerprint: HashMap<u128, Arc<Shape>>,
    pub(super) by_text: HashMap<Arc<str>, Arc<Shape>>,
    pub(super) templates: Vec<Arc<Template>>,
}

pub(super) static REGISTRY: LazyLock<Mutex<Registry>> = LazyLock::new(Mutex::default);

/// A shape and the templates learnt for it.
pub(super) struct Shape {
    pub(super) text: Arc<str>,
    pub(super) learnt: Mutex<Learnt>,
    /// Bumped whenever a template is learnt (threads then refresh their copy).
    pub(super) version: AtomicUsize,
}

#[derive(Default)]
pub(super) struct Learnt {
    /// The template that fixes nothing; `None` when the table was full.
    pub(super) base: Option<Arc<Template>>,
    /// Templates that fix some leaves, most fixed first.
    pub(super) templates: Vec<Arc<Template>>,
    /// The leaves of the last decision no template fitted.
    pub(super) last: Vec<String>,
}

/// A numbered shape with some leaves fixed.
pub(super) struct Template {
    pub(super) id: u32,
    /// Per leaf: its fixed value, if any.
    pub(super) fixed: Vec<Option<Box<str>>>,
    /// The template's text (see the module docs).
    pub(super) text: String,
}

impl Template {
    /// True when every leaf this template fixes has its value in `leaves`.
    pub(super) fn fits(&self, values: &str, leaves: &[(u32, u32)]) -> bool {
        self.fixed.len() == leaves.len()
            && self.fixed.iter().zip(leaves).all(|(f, &(start, end))| {
                f.as_deref()
                    .is_none_or(|f| f == &values[start as usize..end as usize])
            })
    }
}

/// What a thread keeps of a shape: the shape, and a copy of its templates as of `version`
/// (so that finding one takes no lock).
pub(super) struct Recent {
    pub(super) fp: u128,
    pub(super) shape: Arc<Shape>,
    pub(super) version: usize,
    pub(super) base: Option<Arc<Template>>,
    pub(super) templates: Vec<Arc<Template>>,
    /// The template picked for the decision being encoded (an index in `templates`).
    pub(super) pick: Option<usize>,
}

impl Recent {
    pub(super) fn new(fp: u128, shape: Arc<Shape>) -> Self {
        let mut recent = Self {
            fp,
            shape,
            version: usize::MAX,
            base: None,
            templates: Vec::new(),
            pick: None,
        };
        recent.refresh();
        recent
    }

    /// Copies the shape's templates again when it learnt one since.
    pub(super) fn refresh(&mut self) {
        let version = self.shape.version.load(Ordering::Acquire);
        if version == self.version {
            return;
        }
        if let Ok(learnt) = self.shape.learnt.lock() {
            self.base = learnt.base.clone();
            self.templates = learnt.templates.clone();
            self.version = version;
        }
    }

    /// Picks the template to send the leaves with (`leaves`: their ranges in `values`),
    /// noted in `self.pick`: one whose fixed leaves match, or one learnt now from the
    /// leaves this decision shares with the last one no template fitted, or the base.
    pub(super) fn choose(&mut self, values: &str, leaves: &[(u32, u32)]) {
        self.refresh();
        let found = self.templates.iter().position(|t| t.fits(values, leaves));
        let found = match found {
            Some(i) => Some(i),
            None if self.shape.learn(values, leaves) => {
                self.refresh();
                self.templates.iter().position(|t| t.fits(values, leaves))
            }
            None => None,
        };
        self.pick = found;
    }

    /// The template `choose` picked (else the base).
    pub(super) fn chosen(&self) -> Option<&Template> {
        match self.pick {
            Some(i) => self.templates.get(i).map(|t| &**t),
            None => self.base.as_deref(),
        }
    }
}

impl Shape {
    /// Learns a template from the leaves this decision shares with the last one no
    /// template fitted; true when it did.
    pub(super) fn learn(&self, values: &str, leaves: &[(u32, u32)]) -> bool {
        let leaf = |&(start, end): &(u32, u32)| &values[start as usize..end as usize];
        let Ok(mut learnt) = self.learnt.lock() else {
            return false;
        };
        if learnt.templates.len() >= TEMPLATES_PER_SHAPE {
            // Nothing more to learn for this shape.
            return false;
        }
        let shared: Vec<Option<Box<str>>> = if learnt.last.len() == leaves.len() {
            learnt
                .last
                .iter()
                .zip(leaves)
                .map(|(a, l)| (a == leaf(l)).then(|| Box::from(leaf(l))))
                .collect()
        } else {
            Vec::new()
        };
        learnt.last = leaves.iter().map(|l| leaf(l).to_owned()).collect();
        if !shared.iter().any(Option::is_some) {
            return false;
        }
        let text = template_text(&self.text, &shared);
        let Some(t) = register(shared, text) else {
            return false;
        };
        let at = learnt
            .templates
            .iter()
            .position(|o| count(&o.fixed) < count(&t.fixed))
            .unwrap_or(learnt.templates.len());
        learnt.templates.insert(at, t);
        self.version.fetch_add(1, Ordering::Release);
        true
    }
}

pub(super) fn count(fixed: &[Option<Box<str>>]) -> usize {
    fixed.iter().filter(|f| f.is_some()).count()
}

/// Numbers a template; `None` when the table is full.
pub(super) fn register(fixed: Vec<Option<Box<str>>>, text: String) -> Option<Arc<Template>> {
    REGISTRY.lock().ok()?.number(fixed, text)
}

impl Registry {
    /// Numbers a template; `None` when the table is full.
    pub(super) fn number(
        &mut self,
        fixed: Vec<Option<Box<str>>>,
        text: String,
    ) -> Option<Arc<Template>> {
        if self.templates.len() >= MAX_TEMPLATES {
            return None;
        }
        let id = u32::try_from(self.templates.len()).ok()?;
        let t = Arc::new(Template { id, fixed, text });
        self.templates.push(Arc::clone(&t));
        Some(t)
    }
}

/// Runs `f` with this thread's entry for the shape with fingerprint `fp`; `text` writes
/// the shape's text when the process has not met the fingerprint yet. `None` when the
/// shape cannot be written or the registry is unusable.
pub(super) fn with_shape<R>(
    fp: u128,
    text: impl FnOnce() -> Option<String>,
    f: impl FnOnce(&mut Recent) -> R,
) -> Option<R> {
    RECENT_SHAPES.with(|recent| {
        let mut recent = recent.borrow_mut();
        if let Some(entry) = recent.iter_mut().rev().find(|r| r.fp == fp) {
            return Some(f(entry));
        }
        let known = REGISTRY
            .lock()
            .ok()?
            .by_fingerprint
            .get(&fp)
            .map(Arc::clone);
        let shape = match known {
            Some(shape) => shape,
            None => {
                let text: Arc<str> = Arc::from(text()?);
                let mut registry = REGISTRY.lock().ok()?;
                let shape = match registry.by_text.get(&text) {
                    Some(shape) => Arc::clone(shape),
                    None => {
                        let base = registry.number(Vec::new(), text.to_string());
                        let shape = Arc::new(Shape {
                            text: Arc::clone(&text),
                            learnt: Mutex::new(Learnt {
                                base,
                                ..Learnt::default()
                            }),
                            version: AtomicUsize::new(0),
                        });
                        registry.by_text.insert(text, Arc::clone(&shape));
                        shape
                    }
                };
                registry.by_fingerprint.insert(fp, Arc::clone(&shape));
                shape
            }
        };
        if recent.len() == RECENT {
            recent.remove(0);
        }
        recent.push(Recent::new(fp, shape));
        recent.last_mut().map(f)
    })
}

/// The shape's text with the fixed leaves written in (`=0"value"`).
pub(super) fn template_text(shape: &str, fixed: &[Option<Box<str>>]) -> String {
    let mut out = String::with_capacity(shape.len() + 256);
    let mut leaf = 0;
    let mut in_string = false;
    let mut escaped = false;
    for c in shape.chars() {
        if in_string {
            out.push(c);
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '0' | '1' | '2' => {
                match fixed.get(leaf).and_then(Option::as_deref) {
                    Some(value) => {
                        out.push('=');
                        out.push(c);
                        let _ = serde_json::to_writer(ShapeWriter(&mut out), value);
                    }
                    None => out.push(c),
                }
                leaf += 1;
            }
            c => out.push(c),
        }
    }
    out
}

/// A 128-bit fingerprint of a shape: its structure and the addresses of its keys.
pub(super) struct Fingerprint(u64, u64);

impl Fingerprint {
    pub(super) fn new() -> Self {
        Self(0x243f_6a88_85a3_08d3, 0x1319_8a2e_0370_7344)
    }

    pub(super) fn mix(&mut self, x: u64) {
        self.0 = (self.0.rotate_left(5) ^ x).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        self.1 = (self.1.rotate_left(7) ^ x).wrapping_mul(0xc2b2_ae3d_27d4_eb4f);
    }

    pub(super) fn bytes(&mut self, bytes: &[u8]) {
        self.mix(0xfeed ^ bytes.len() as u64);
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.mix(u64::from_le_bytes(word));
        }
    }

    pub(super) fn get(&self) -> u128 {
        (u128::from(self.0) << 64) | u128::from(self.1)
    }
}
