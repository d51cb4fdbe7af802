//! Which tools this server serves: toolsets, single tools, exclusions and read-only mode.
//!
//! - `--toolsets jobs,credits` (`OPENTRAIN_TOOLSETS`): only those toolsets, plus `auth`
//!   (`all` means every toolset, the default).
//! - `--tools list_jobs,get_credits` (`OPENTRAIN_TOOLS`): single tools added to the toolsets; given
//!   alone, they are added to `auth` only, so a client can pick exactly the tools it uses.
//! - `--read-only` (`OPENTRAIN_READ_ONLY=1`): only tools whose `readOnlyHint` is true; others are
//!   neither listed nor callable, even when named in `--tools`.
//! - `--exclude-tools` (`OPENTRAIN_EXCLUDE_TOOLS`): removed, whatever else says.
//!
//! Tool names may be given with or without the `opentrain_` prefix. An unknown name is an error
//! that lists the valid ones, so a typo stops the server at start instead of silently serving
//! the wrong tools.

use std::collections::BTreeSet;

use rmcp::model::Tool;

use crate::tools::Toolset;

pub const ENV_TOOLSETS: &str = "OPENTRAIN_TOOLSETS";
pub const ENV_TOOLS: &str = "OPENTRAIN_TOOLS";
pub const ENV_EXCLUDE_TOOLS: &str = "OPENTRAIN_EXCLUDE_TOOLS";
pub const ENV_READ_ONLY: &str = "OPENTRAIN_READ_ONLY";

const PREFIX: &str = "opentrain_";

/// The user's choice, as given (flags or env), before it is checked against the registry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selection {
    /// `None`: every toolset.
    pub toolsets: Option<Vec<String>>,
    pub tools: Vec<String>,
    pub exclude: Vec<String>,
    pub read_only: bool,
}

/// Why a call to a known tool is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Disabled {
    ReadOnly,
    NotSelected,
}

/// A checked selection: the set of tool names served.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Enabled {
    names: BTreeSet<String>,
    read_only: bool,
}

/// Splits a comma- or space-separated list, dropping empty items.
pub fn split_list(raw: &str) -> Vec<String> {
    raw.split([',', ' '])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `1`, `true`, `yes`, `on` (any case) mean yes; anything else, no.
pub fn truthy(raw: &str) -> bool {
    matches!(
        raw.trim().to_ascii_lowercase().as_str(),
        "1" | "true" | "yes" | "on"
    )
}

impl Selection {
    /// Resolves the selection against the registry: `toolsets` is each toolset's tools, `tools`
    /// every tool with its `readOnlyHint`.
    pub fn resolve(&self, toolsets: &[(Toolset, Vec<Tool>)]) -> Result<Enabled, String> {
        let all: Vec<&Tool> = toolsets.iter().flat_map(|(_, tools)| tools).collect();
        let canonical = |raw: &str| -> Result<String, String> {
            let name = if raw.starts_with(PREFIX) {
                raw.to_owned()
            } else {
                format!("{PREFIX}{raw}")
            };
            if all.iter().any(|t| t.name == name) {
                Ok(name)
            } else {
                let mut valid: Vec<&str> = all.iter().map(|t| t.name.as_ref()).collect();
                valid.sort();
                Err(format!(
                    "unknown tool {raw:?}; valid tools (with or without the opentrain_ prefix): {}",
                    valid.join(", ")
                ))
            }
        };
        let mut names = BTreeSet::new();
        let chosen_sets: Vec<Toolset> = match &self.toolsets {
            None if self.tools.is_empty() => Toolset::ALL.to_vec(),
            None => vec![Toolset::Auth],
            Some(list) => {
                let mut sets = vec![Toolset::Auth];
                for raw in list {
                    if raw.eq_ignore_ascii_case("all") {
                        sets.extend(Toolset::ALL);
                        continue;
                    }
                    let set = Toolset::ALL
                        .into_iter()
                        .find(|s| s.name().eq_ignore_ascii_case(raw))
                        .ok_or_else(|| {
                            format!(
                                "unknown toolset {raw:?}; valid toolsets: all, {}",
                                Toolset::ALL.map(Toolset::name).join(", ")
                            )
                        })?;
                    sets.push(set);
                }
                sets
            }
        };
        for (set, tools) in toolsets {
            if chosen_sets.contains(set) {
                names.extend(tools.iter().map(|t| t.name.to_string()));
            }
        }
        for raw in &self.tools {
            names.insert(canonical(raw)?);
        }
        if self.read_only {
            names.retain(|name| {
                all.iter()
                    .find(|t| t.name == *name)
                    .and_then(|t| t.annotations.as_ref())
                    .and_then(|a| a.read_only_hint)
                    == Some(true)
            });
        }
        for raw in &self.exclude {
            names.remove(&canonical(raw)?);
        }
        Ok(Enabled {
            names,
            read_only: self.read_only,
        })
    }
}

impl Enabled {
    /// Every tool.
    pub fn everything(tools: &[Tool]) -> Enabled {
        Enabled {
            names: tools.iter().map(|t| t.name.to_string()).collect(),
            read_only: false,
        }
    }

    pub fn contains(&self, name: &str) -> bool {
        self.names.contains(name)
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    pub fn read_only(&self) -> bool {
        self.read_only
    }

    /// Takes these tools out, whatever selected them.
    pub fn remove(&mut self, names: &[&str]) {
        for name in names {
            self.names.remove(*name);
        }
    }

    /// The tools both enable: what a request's narrowing headers leave of the operator's
    /// selection. Never more than `self`.
    pub fn intersect(&self, other: &Enabled) -> Enabled {
        Enabled {
            names: self.names.intersection(&other.names).cloned().collect(),
            read_only: self.read_only || other.read_only,
        }
    }

    /// The tool names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.names.iter().map(String::as_str)
    }

    /// Why a registered tool is not served (`None` when it is).
    pub fn why_disabled(&self, tool: &Tool) -> Option<Disabled> {
        if self.contains(&tool.name) {
            return None;
        }
        let writes = tool.annotations.as_ref().and_then(|a| a.read_only_hint) != Some(true);
        Some(if self.read_only && writes {
            Disabled::ReadOnly
        } else {
            Disabled::NotSelected
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intersection_never_widens() {
        let operator = Enabled {
            names: ["a", "b"].map(String::from).into(),
            read_only: false,
        };
        let request = Enabled {
            names: ["b", "c"].map(String::from).into(),
            read_only: true,
        };
        let both = operator.intersect(&request);
        assert_eq!(both.names().collect::<Vec<_>>(), ["b"]);
        assert!(both.read_only());
        let mut fewer = operator.clone();
        fewer.remove(&["a", "z"]);
        assert_eq!(fewer.names().collect::<Vec<_>>(), ["b"]);
    }

    #[test]
    fn lists_and_flags() {
        assert_eq!(
            split_list(" jobs, credits ,,proposals "),
            ["jobs", "credits", "proposals"]
        );
        assert_eq!(split_list("a b"), ["a", "b"]);
        assert!(split_list("").is_empty());
        for yes in ["1", "true", "TRUE", " yes ", "on"] {
            assert!(truthy(yes));
        }
        for no in ["0", "false", "", "no", "off", "2"] {
            assert!(!truthy(no));
        }
    }
}
