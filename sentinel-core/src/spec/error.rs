//! [`ConfigError`]: one error for every unusable configuration, naming where it is.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::code::{Coded, ErrorCode};

/// A configuration file, mapping, option or environment variable is unusable.
///
/// Names the file (when there is one), the line (when TOML or JSON gives one), the key path
/// (`scorer.groq.timeout_s`, `packs[1].path`) and the environment variable behind the value
/// when it came from one. Never holds a secret's value.
///
/// ```text
/// invalid config in `sentinel.toml`, line 12, at `scorer.groq.timeout_s`: expected a positive number of seconds, found `-1`
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConfigError {
    /// The configuration file, when the configuration came from one.
    pub file: Option<PathBuf>,
    /// The line in the file (1-based), when known.
    pub line: Option<usize>,
    /// The key path, e.g. `scorer.groq.timeout_s` or `packs[0].path`; empty for the whole
    /// document.
    pub key: String,
    /// The environment variable the value came from (or should have come from).
    pub env: Option<String>,
    /// What is wrong, in lowercase, user input in backticks.
    pub message: String,
    /// The error's code: `invalid_config`, or `invalid_pack` when a pack the configuration
    /// names does not load.
    pub code: ErrorCode,
}

impl ConfigError {
    /// An error about the value at `key`.
    pub fn at(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            file: None,
            line: None,
            key: key.into(),
            env: None,
            message: message.into(),
            code: ErrorCode::InvalidConfig,
        }
    }

    /// Sets the code (see [`code`](Self::code)).
    #[must_use]
    pub fn with_code(mut self, code: ErrorCode) -> Self {
        self.code = code;
        self
    }

    /// Names the environment variable behind the value.
    #[must_use]
    pub fn with_env(mut self, var: impl Into<String>) -> Self {
        self.env = Some(var.into());
        self
    }

    /// Names the file (unless one is named already).
    #[must_use]
    pub fn in_file(mut self, file: Option<&Path>) -> Self {
        if self.file.is_none() {
            self.file = file.map(Path::to_path_buf);
        }
        self
    }

    /// Sets the line.
    #[must_use]
    pub(crate) fn on_line(mut self, line: Option<usize>) -> Self {
        self.line = line;
        self
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid config")?;
        if let Some(file) = &self.file {
            write!(f, " in `{}`", file.display())?;
        }
        if let Some(line) = self.line {
            write!(f, ", line {line}")?;
        }
        if !self.key.is_empty() {
            write!(f, ", at `{}`", self.key)?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ConfigError {}

impl Coded for ConfigError {
    fn code(&self) -> ErrorCode {
        self.code
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_file_line_key_in_that_order() {
        let e = ConfigError::at("scorer.groq.timeout_s", "expected a positive number")
            .in_file(Some(Path::new("s.toml")))
            .on_line(Some(12));
        assert_eq!(
            e.to_string(),
            "invalid config in `s.toml`, line 12, at `scorer.groq.timeout_s`: expected a positive number"
        );
        assert_eq!(
            ConfigError::at("", "not TOML").to_string(),
            "invalid config: not TOML"
        );
    }
}
