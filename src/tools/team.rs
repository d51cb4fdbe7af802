//! Team: the employer team and invites.
//!
//! | tool | request |
//! |---|---|
//! | `opentrain_get_team` | `GET /team` |
//! | `opentrain_invite_team_member` | `POST /team/invites` `{"email"}` |

use rmcp::model::CallToolResult;
use rmcp::schemars::{self, JsonSchema};
use rmcp::{tool, tool_router};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::result::links;
use super::summary::{self, count, items, text, text_or};
use super::{Args, schema};
use crate::api::Request;
use crate::server::OpenTrain;
use crate::validate::Email;

#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InviteTeamMemberArgs {
    /// Email of the human to invite, e.g. "newhire@example.com".
    email: Email,
}

fn member_line(member: &Value) -> String {
    let mut line = format!(
        "{} <{}>",
        text_or(member, "/name", "(no name)"),
        text_or(member, "/email", "no email"),
    );
    if let Some(role) = text(member, "/role") {
        line.push_str(&format!(" {role}"));
    }
    if let Some(at) = text(member, "/joinedAt") {
        line.push_str(&format!(", joined {at}"));
    }
    line
}

fn invite_line(invite: &Value) -> String {
    let mut line = text_or(invite, "/email", "(no email)");
    if let Some(id) = super::summary::item_id(invite, &["inviteId"]) {
        line.push_str(&format!(" (invite {id})"));
    }
    if let Some(at) = text(invite, "/createdAt") {
        line.push_str(&format!(", sent {at}"));
    }
    if let Some(at) = text(invite, "/expiresAt") {
        line.push_str(&format!(", expires {at}"));
    }
    line
}

/// The team object of an answer: under `team` (documented), under another key, or flat.
fn team_of(body: &Value) -> &Value {
    links::object(body, &["/team"], &["team"]).unwrap_or(body)
}

/// One of the team's lists: only under its own name (or nested deeper), never another list.
fn team_list(team: &Value, name: &str, noun: (&str, &str), line: fn(&Value) -> String) -> String {
    match links::list_named(team, &format!("/{name}"), &[name]) {
        Some(all) => summary::list_of(all, &Value::Null, noun, line),
        None => format!("No {} listed.", noun.1),
    }
}

/// The team object: organization and owner, members, pending invites.
fn team_summary(team: &Value) -> String {
    let members = team_list(team, "members", ("member", "members"), member_line);
    let invites = team_list(
        team,
        "invites",
        ("pending invite", "pending invites"),
        invite_line,
    );
    let org = links::object(team, &["/organization"], &["organization"]).unwrap_or(team);
    let mut head = format!(
        "Team of {}",
        text_or(org, "/name", "an unnamed organization")
    );
    if let Some(id) = text(org, "/id").or_else(|| links::text(team, &[], &["organizationId"])) {
        head.push_str(&format!(" ({id})"));
    }
    if let Some(owner) = text(org, "/ownerName") {
        head.push_str(&format!(", owner {owner}"));
    }
    format!("{head}.\n{members}\n{invites}")
}

fn invite_summary(body: &Value, asked: &str) -> String {
    let email = text(body, "/email").unwrap_or_else(|| asked.to_owned());
    let team = team_of(body);
    let outcome = match text(body, "/status").as_deref() {
        Some("invite_created") => {
            let expires = items(team, "/invites")
                .iter()
                .find(|i| text(i, "/email").is_some_and(|e| e.eq_ignore_ascii_case(&email)))
                .and_then(|i| text(i, "/expiresAt"))
                .map(|e| format!(" (the invite expires {e})"))
                .unwrap_or_default();
            format!(
                "invite_created: an invitation email was sent to {email}. They join once they \
                 accept it{expires}; until then it is listed under pending invites in \
                 opentrain_get_team."
            )
        }
        Some("member_added") => format!(
            "member_added: {email} already had an OpenTrain account and was added to the team \
             directly (no email to accept)."
        ),
        Some("already_member") => {
            format!("already_member: {email} is already on the team; nothing changed.")
        }
        Some(other) => format!("{other}: see the structured result for what happened to {email}."),
        None => {
            format!("The answer did not say what happened to {email}; check opentrain_get_team.")
        }
    };
    format!(
        "{outcome}\nThe team now has {} and {}.",
        count(items(team, "/members").len(), "member", "members"),
        count(
            items(team, "/invites").len(),
            "pending invite",
            "pending invites"
        ),
    )
}

#[tool_router(router = team_router, vis = "pub(crate)")]
impl OpenTrain {
    /// Read the employer team: the organization and its owner, members with roles and emails, and pending email invites. Requires team:read + feature public_api_team (and employer teams enabled). Wraps GET /team.
    #[tool(
        name = "opentrain_get_team",
        title = "Employer team",
        annotations(
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn get_team(&self) -> CallToolResult {
        self.run(Request::get("/team"), |b| team_summary(team_of(b)))
            .await
    }

    /// Invite a human to the employer team by email: an existing user is added at once (member_added), others get an email (invite_created), members stay as they are (already_member). Requires team:write, feature public_api_team, a claimed account. Wraps POST /team/invites.
    #[tool(
        name = "opentrain_invite_team_member",
        title = "Invite a team member",
        input_schema = schema::<InviteTeamMemberArgs>(),
        annotations(
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    async fn invite_team_member(&self, Args(a): Args<InviteTeamMemberArgs>) -> CallToolResult {
        let req = Request::post("/team/invites").json(&a);
        let asked = a.email.as_str().to_owned();
        self.run(req, move |b| invite_summary(b, &asked)).await
    }
}
