//! `[mcp]`: how `sentinel mcp-proxy` turns MCP tool calls into actions.
//!
//! ```toml
//! [mcp]
//! agent_id = "claude-desktop"     # default mcp-client
//! progress_interval_s = 5         # progress notifications while a human decides
//!
//! [mcp.tools.wire_money]
//! action = "PAY_INVOICE"          # default: the tool's name upper-cased (WIRE_MONEY)
//! ```

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::units::Seconds;
use crate::tool_call::{DEFAULT_AGENT_ID, ToolMapping};

/// How often the proxy tells a waiting client that a human is still deciding, when
/// `[mcp] progress_interval_s` is not set.
pub const DEFAULT_PROGRESS_INTERVAL_S: f64 = 5.0;

/// `[mcp]`: the agent the proxy's clients are, and how their tools map to actions.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct McpSpec {
    /// The agent id of every tool call through the proxy (packs match on it). Default
    /// `mcp-client`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    /// While a call waits for a human, a progress notification is sent this often (to
    /// clients that gave a `progressToken`). Default 5 s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress_interval_s: Option<Seconds>,
    /// Per tool (`[mcp.tools.NAME]`, NAME as the upstream server names it): the action
    /// its calls are.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tools: BTreeMap<String, McpToolSpec>,
}

/// `[mcp.tools.NAME]`: one tool's mapping.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct McpToolSpec {
    /// The action its calls are, e.g. `PAY_INVOICE`. Default: the tool's name
    /// upper-cased.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
}

impl McpSpec {
    /// The mapping of tool calls to actions this section describes.
    pub fn mapping(&self) -> ToolMapping {
        let agent = self.agent_id.as_deref().unwrap_or(DEFAULT_AGENT_ID);
        self.tools
            .iter()
            .filter_map(|(tool, spec)| spec.action.as_ref().map(|a| (tool, a)))
            .fold(ToolMapping::new(agent), |m, (tool, action)| {
                m.with_action(tool.clone(), action.clone())
            })
    }

    /// How often progress is reported while a human decides.
    pub fn progress_interval(&self) -> std::time::Duration {
        self.progress_interval_s.map_or_else(
            || std::time::Duration::from_secs_f64(DEFAULT_PROGRESS_INTERVAL_S),
            Seconds::duration,
        )
    }
}

#[cfg(test)]
mod tests {
    use crate::spec::GatewaySpec;

    #[test]
    fn the_section_maps_tools() {
        let spec = GatewaySpec::from_toml_str(
            "[mcp]\nagent_id = \"desk\"\nprogress_interval_s = 0.5\n[mcp.tools.wire]\naction = \"PAY_INVOICE\"\n",
        )
        .unwrap();
        let m = spec.mcp.mapping();
        assert_eq!(m.agent_id(), "desk");
        assert_eq!(m.action_name("wire"), "PAY_INVOICE");
        assert_eq!(m.action_name("drop_table"), "DROP_TABLE");
        assert_eq!(spec.mcp.progress_interval().as_millis(), 500);
        let d = GatewaySpec::default();
        assert_eq!(d.mcp.mapping().agent_id(), "mcp-client");
        assert_eq!(d.mcp.progress_interval().as_secs(), 5);
    }

    #[test]
    fn unknown_keys_are_errors() {
        let e = GatewaySpec::from_toml_str("[mcp.tools.wire]\nactoin = \"X\"\n").unwrap_err();
        assert!(e.to_string().contains("mcp.tools.wire"), "{e}");
    }
}
