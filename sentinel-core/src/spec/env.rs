//! Where a configuration reads what is not in it: environment variables and secret files.
//!
//! Secrets never sit in a configuration file: a file names the environment variable that
//! holds one (`*_env`) or the path of a file holding it (`*_file`: how Kubernetes, Docker
//! and Vault agents hand secrets to a process). Both are read when the gateway is built,
//! never logged, never kept in the spec.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::ConfigError;

type Lookup = dyn Fn(&str) -> Option<String> + Send + Sync;

/// The environment a configuration is resolved in: a lookup of variables (the process
/// environment by default; a map in tests).
#[derive(Clone)]
pub struct Env {
    lookup: Arc<Lookup>,
}

impl Env {
    /// The process environment.
    pub fn process() -> Self {
        Self {
            lookup: Arc::new(|name| std::env::var(name).ok()),
        }
    }

    /// Variables from a map only (tests, hosts that pass their own).
    pub fn from_map(vars: HashMap<String, String>) -> Self {
        Self {
            lookup: Arc::new(move |name| vars.get(name).cloned()),
        }
    }

    /// Variables from `lookup`.
    pub fn from_fn(lookup: impl Fn(&str) -> Option<String> + Send + Sync + 'static) -> Self {
        Self {
            lookup: Arc::new(lookup),
        }
    }

    /// The variable's value, trimmed; unset and empty are the same.
    pub fn var(&self, name: &str) -> Option<String> {
        (self.lookup)(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }
}

impl Default for Env {
    fn default() -> Self {
        Self::process()
    }
}

impl fmt::Debug for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Env(..)")
    }
}

/// A secret value: never shown by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretValue(String);

impl SecretValue {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretValue(***)")
    }
}

/// How one secret of a section is found: `{name}_env` and `{name}_file` keys.
pub(crate) struct SecretKeys<'a> {
    /// The key path of the section, e.g. `scorer.groq`.
    pub(crate) section: &'a str,
    /// The secret's name, e.g. `api_key`.
    pub(crate) name: &'a str,
    /// The `{name}_env` key, when set.
    pub(crate) env: Option<&'a str>,
    /// The `{name}_file` key, when set.
    pub(crate) file: Option<&'a Path>,
    /// The variable read when neither is set.
    pub(crate) default_env: &'a str,
}

impl SecretKeys<'_> {
    /// Reads the secret: from the file when `{name}_file` is set, else from the variable
    /// `{name}_env` names (or the default one). `None` when that variable is not set.
    pub(crate) fn read(
        &self,
        env: &Env,
        base: Option<&Path>,
    ) -> Result<Option<SecretValue>, ConfigError> {
        let (section, name) = (self.section, self.name);
        match (self.env, self.file) {
            (Some(_), Some(_)) => Err(ConfigError::at(
                format!("{section}.{name}_file"),
                format!("set `{name}_env` or `{name}_file`, not both"),
            )),
            (_, Some(file)) => {
                let path = resolve(base, file);
                let text = std::fs::read_to_string(&path).map_err(|e| {
                    ConfigError::at(
                        format!("{section}.{name}_file"),
                        format!("cannot read secret file `{}`: {e}", path.display()),
                    )
                })?;
                let value = text.trim();
                if value.is_empty() {
                    return Err(ConfigError::at(
                        format!("{section}.{name}_file"),
                        format!("secret file `{}` is empty", path.display()),
                    ));
                }
                Ok(Some(SecretValue::new(value)))
            }
            (var, None) => {
                let var = var.unwrap_or(self.default_env);
                Ok(env.var(var).map(SecretValue::new))
            }
        }
    }

    /// The variable the secret is read from, for messages (`None` when it is a file).
    pub(crate) fn var(&self) -> Option<&str> {
        match self.file {
            Some(_) => None,
            None => Some(self.env.unwrap_or(self.default_env)),
        }
    }

    /// The error for a secret that must be there and is not.
    pub(crate) fn missing(&self, what: &str) -> ConfigError {
        let (section, name) = (self.section, self.name);
        match self.var() {
            Some(var) => ConfigError::at(
                format!("{section}.{name}_env"),
                format!("environment variable `{var}` is not set ({what})"),
            )
            .with_env(var),
            None => ConfigError::at(
                format!("{section}.{name}_file"),
                format!("{what} is missing"),
            ),
        }
    }
}

/// `path` relative to `base` (the configuration file's folder), unless absolute.
pub(crate) fn resolve(base: Option<&Path>, path: &Path) -> PathBuf {
    match base {
        Some(base) if path.is_relative() => base.join(path),
        _ => path.to_path_buf(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys<'a>(env: Option<&'a str>, file: Option<&'a Path>) -> SecretKeys<'a> {
        SecretKeys {
            section: "scorer.groq",
            name: "api_key",
            env,
            file,
            default_env: "GROQ_API_KEY",
        }
    }

    #[test]
    fn reads_the_default_or_named_variable() {
        let env = Env::from_map(HashMap::from([
            ("GROQ_API_KEY".to_owned(), " k1 ".to_owned()),
            ("MINE".to_owned(), "k2".to_owned()),
        ]));
        let got = keys(None, None).read(&env, None).ok().flatten();
        assert_eq!(got.as_ref().map(SecretValue::expose), Some("k1"));
        let got = keys(Some("MINE"), None).read(&env, None).ok().flatten();
        assert_eq!(got.as_ref().map(SecretValue::expose), Some("k2"));
        let none = keys(Some("UNSET"), None).read(&env, None);
        assert_eq!(none, Ok(None));
        let e = keys(Some("UNSET"), None).missing("the api key");
        assert_eq!(
            e.to_string(),
            "invalid config, at `scorer.groq.api_key_env`: environment variable `UNSET` is not set (the api key)"
        );
        assert_eq!(e.env.as_deref(), Some("UNSET"));
    }

    #[test]
    fn reads_files_relative_to_the_config_and_refuses_both() {
        let dir = std::env::temp_dir().join(format!("sentinel-secret-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap_or_default();
        std::fs::write(dir.join("key"), "from-file\n").unwrap_or_default();
        let env = Env::from_map(HashMap::new());
        let got = keys(None, Some(Path::new("key")))
            .read(&env, Some(&dir))
            .ok()
            .flatten();
        assert_eq!(got.as_ref().map(SecretValue::expose), Some("from-file"));
        let e = keys(None, Some(Path::new("nope")))
            .read(&env, Some(&dir))
            .unwrap_err();
        assert!(e.message.starts_with("cannot read secret file"), "{e}");
        assert_eq!(e.key, "scorer.groq.api_key_file");
        let both = keys(Some("X"), Some(Path::new("key"))).read(&env, Some(&dir));
        assert!(both.is_err());
        assert!(!format!("{got:?}").contains("from-file"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
