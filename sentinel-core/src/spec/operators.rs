//! `[[operators]]`: the people who sign in to `sentinel-server`'s console (other hosts
//! ignore their tokens). Each names the environment variable or the file holding the
//! operator's token, never the token itself. An operator may also own a phone number
//! (`phone`), so that an approval by phone is recorded under the operator's name, with an
//! optional PIN (`pin_env` / `pin_file`) the call asks for: every host with the voice
//! approver uses those.

use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One operator of the console.
///
/// ```toml
/// [[operators]]
/// name = "alice"
/// token_env = "SENTINEL_TOKEN_ALICE"
/// role = "approver"                 # approver (default) | viewer
/// phone = "+15550100002"            # calls to this number decide as alice
/// pin_env = "SENTINEL_PIN_ALICE"    # 4-12 digits asked by DTMF before "1" counts
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OperatorSpec {
    /// The name recorded with every decision the operator makes (letters, digits and
    /// `_-.@`).
    pub name: String,
    /// The environment variable holding the operator's sign-in token (at least 16
    /// characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_env: Option<String>,
    /// A file holding the operator's sign-in token (relative to this file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_file: Option<PathBuf>,
    /// What the operator may do. Default: `approver`.
    #[serde(default)]
    pub role: OperatorRole,
    /// The operator's phone number (E.164, `+15550100002`; unique across operators): a
    /// decision on an approval call to it is recorded under the operator's name, so a
    /// phone approval and a console or Slack approval by the same person count once
    /// towards a quorum.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// The environment variable holding the operator's PIN (4 to 12 digits), entered by
    /// DTMF on a call to `phone` before an approval counts. Needs `phone`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin_env: Option<String>,
    /// A file holding the operator's PIN (relative to this file). Needs `phone`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin_file: Option<PathBuf>,
}

/// A phone number bound to an operator, checked, its PIN read.
#[derive(Debug, Clone)]
#[cfg_attr(not(feature = "telnyx"), allow(dead_code))] // read by the voice approver only
pub(crate) struct PhoneBinding {
    /// `operators[i].phone`, for messages.
    pub(crate) key: String,
    pub(crate) number: String,
    pub(crate) operator: String,
    pub(crate) pin: Option<super::SecretValue>,
}

/// The operators' phone numbers: each E.164 and bound once, each PIN 4-12 digits read
/// from the variable or file named (an error names the key, never the PIN).
pub(crate) fn phone_bindings(
    operators: &[OperatorSpec],
    env: &super::Env,
    base: Option<&Path>,
) -> Result<Vec<PhoneBinding>, super::ConfigError> {
    use super::ConfigError;
    let mut found: Vec<PhoneBinding> = Vec::new();
    for (i, o) in operators.iter().enumerate() {
        let section = format!("operators[{i}]");
        let Some(number) = &o.phone else {
            if o.pin_env.is_some() || o.pin_file.is_some() {
                let key = if o.pin_env.is_some() {
                    "pin_env"
                } else {
                    "pin_file"
                };
                return Err(ConfigError::at(
                    format!("{section}.{key}"),
                    format!(
                        "operator `{}` has a PIN but no `phone`: the PIN is asked on calls to it",
                        o.name
                    ),
                ));
            }
            continue;
        };
        let key = format!("{section}.phone");
        if !is_e164(number) {
            return Err(ConfigError::at(
                key,
                format!("`{number}` is not an E.164 number like `+15551234567`"),
            ));
        }
        if let Some(other) = found.iter().find(|f| f.number == *number) {
            return Err(ConfigError::at(
                key,
                format!(
                    "`{number}` is the phone of operator `{}` already: a number identifies one person",
                    other.operator
                ),
            ));
        }
        let pin = match (&o.pin_env, &o.pin_file) {
            (None, None) => None,
            (env_key, file) => {
                let keys = super::env::SecretKeys {
                    section: &section,
                    name: "pin",
                    env: env_key.as_deref(),
                    file: file.as_deref(),
                    default_env: "",
                };
                let pin = keys
                    .read(env, base)?
                    .ok_or_else(|| keys.missing(&format!("the PIN of operator `{}`", o.name)))?;
                let ok = (4..=12).contains(&pin.expose().len())
                    && pin.expose().bytes().all(|b| b.is_ascii_digit());
                if !ok {
                    let field = if o.pin_file.is_some() {
                        "pin_file"
                    } else {
                        "pin_env"
                    };
                    return Err(ConfigError::at(
                        format!("{section}.{field}"),
                        format!("the PIN of operator `{}` must be 4 to 12 digits", o.name),
                    ));
                }
                Some(pin)
            }
        };
        found.push(PhoneBinding {
            key,
            number: number.clone(),
            operator: o.name.clone(),
            pin,
        });
    }
    Ok(found)
}

/// `operators[].role`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OperatorRole {
    /// Sees everything and approves or declines pending actions.
    #[default]
    Approver,
    /// Sees everything, decides nothing.
    Viewer,
}

impl OperatorRole {
    /// `approver` or `viewer`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Approver => "approver",
            Self::Viewer => "viewer",
        }
    }

    /// True when the role may approve and decline.
    pub fn may_decide(self) -> bool {
        self == Self::Approver
    }
}

/// `+` and 8 to 15 digits.
fn is_e164(value: &str) -> bool {
    let digits = value.strip_prefix('+').unwrap_or("");
    (8..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::spec::{Env, GatewaySpec};

    fn bindings(
        text: &str,
        vars: &[(&str, &str)],
    ) -> Result<Vec<PhoneBinding>, crate::spec::ConfigError> {
        let spec = GatewaySpec::from_toml_str(text)?;
        let env = Env::from_map(
            vars.iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<HashMap<_, _>>(),
        );
        phone_bindings(&spec.operators, &env, None)
    }

    const TWO: &str = r#"
        [[operators]]
        name = "alice"
        token_env = "T_ALICE"
        phone = "+15550100002"
        pin_env = "PIN_ALICE"
        [[operators]]
        name = "bob"
        token_env = "T_BOB"
        phone = "+15550100003"
        [[operators]]
        name = "carol"
        token_env = "T_CAROL"
    "#;

    #[test]
    fn phones_bind_operators_with_their_pins() {
        let b = bindings(TWO, &[("PIN_ALICE", "24680")]).unwrap();
        assert_eq!(b.len(), 2);
        assert_eq!(
            (b[0].number.as_str(), b[0].operator.as_str()),
            ("+15550100002", "alice")
        );
        assert_eq!(b[0].pin.as_ref().map(|p| p.expose()), Some("24680"));
        assert_eq!((b[1].operator.as_str(), b[1].pin.is_none()), ("bob", true));
    }

    #[test]
    fn bad_phones_and_pins_are_named_without_the_pin() {
        let e = bindings(TWO, &[]).unwrap_err();
        assert_eq!(e.key, "operators[0].pin_env", "{e}");
        assert!(e.to_string().contains("PIN_ALICE"), "{e}");
        for bad in ["12ab", "123", "1234567890123"] {
            let e = bindings(TWO, &[("PIN_ALICE", bad)]).unwrap_err();
            assert_eq!(e.key, "operators[0].pin_env", "{e}");
            assert!(e.to_string().contains("4 to 12 digits"), "{e}");
            assert!(!e.to_string().contains(bad), "the PIN shows in `{e}`");
        }
        let twice = TWO.replace("+15550100003", "+15550100002");
        let e = bindings(&twice, &[("PIN_ALICE", "2468")]).unwrap_err();
        assert_eq!(e.key, "operators[1].phone", "{e}");
        assert!(e.to_string().contains("alice"), "{e}");
        let bad = TWO.replace("+15550100003", "555-0100");
        let e = bindings(&bad, &[("PIN_ALICE", "2468")]).unwrap_err();
        assert_eq!(e.key, "operators[1].phone", "{e}");
        let no_phone = "[[operators]]\nname = \"dan\"\ntoken_env = \"T\"\npin_env = \"P\"\n";
        let e = bindings(no_phone, &[("P", "2468")]).unwrap_err();
        assert_eq!(e.key, "operators[0].pin_env", "{e}");
        let both = TWO.replace(
            "pin_env = \"PIN_ALICE\"",
            "pin_env = \"PIN_ALICE\"\n        pin_file = \"pin.txt\"",
        );
        let e = bindings(&both, &[("PIN_ALICE", "2468")]).unwrap_err();
        assert_eq!(e.key, "operators[0].pin_file", "{e}");
    }
}
