//! Team: the organization's members and pending invites.

use serde_json::{Value, json};

use super::{ApiErr, Ctx, Handler, Reply, Req, Route, json_object};
use crate::sandbox::clock::DAY;
use crate::sandbox::store::Tx;

pub const ROUTES: &[Route] = &[
    Route::new("GET", "/api/public/v1/team", Handler::Authed(team)),
    Route::new(
        "POST",
        "/api/public/v1/team/invites",
        Handler::Authed(invite),
    ),
];

fn owner_name(a: &Value) -> Value {
    match (a["firstName"].as_str(), a["lastName"].as_str()) {
        (Some(f), Some(l)) => json!(format!("{f} {l}")),
        (Some(f), None) => json!(f),
        _ => json!(a["agentName"].as_str().unwrap_or("Unclaimed agent account")),
    }
}

fn team_shape(tx: &Tx, ctx: &Ctx) -> rusqlite::Result<Value> {
    let a = tx.get("accounts", &ctx.account_id)?.unwrap_or(Value::Null);
    let mut members = vec![json!({
        "userId": a["userId"], "role": "OWNER", "name": owner_name(&a), "email": a["email"],
        "joinedAt": super::iso(&a["createdAt"]),
    })];
    members.extend(a["members"].as_array().cloned().unwrap_or_default().into_iter().map(|m| {
        json!({"userId": m["userId"], "role": "MEMBER", "name": m["name"], "email": m["email"], "joinedAt": super::iso(&m["joinedAt"])})
    }));
    let invites: Vec<Value> = tx
        .list("team_invites", "account", &ctx.account_id)?
        .into_iter()
        .filter(|i| i["expiresAt"].as_i64().is_some_and(|e| e > tx.now))
        .map(|i| json!({"id": i["id"], "email": i["email"], "createdAt": super::iso(&i["createdAt"]), "expiresAt": super::iso(&i["expiresAt"])}))
        .collect();
    Ok(json!({
        "organization": {
            "id": a["organizationId"],
            "name": a["organizationName"].as_str().unwrap_or("Sandbox organization"),
            "ownerUserId": a["userId"],
            "ownerName": owner_name(&a),
        },
        "members": members,
        "invites": invites,
    }))
}

fn team(tx: &mut Tx, ctx: &Ctx, _r: &Req) -> Reply {
    ctx.need(&["team:read"])?;
    Ok((200, json!({"team": team_shape(tx, ctx)?})))
}

fn invite(tx: &mut Tx, ctx: &Ctx, r: &Req) -> Reply {
    let body: &[u8] = &r.body;
    ctx.need_claimed("invite team members")?;
    ctx.need(&["team:write"])?;
    let b = json_object(body, false)?;
    let email = b
        .get("email")
        .and_then(Value::as_str)
        .unwrap_or("")
        .trim()
        .to_owned();
    if !super::auth::valid_email(&email) {
        return Err(
            ApiErr::new(400, "email must be a valid email address.").detail(
                "issues",
                vec![super::issue("email", "invalid_string", "Invalid email")],
            ),
        );
    }
    let mut account = tx.get("accounts", &ctx.account_id)?.unwrap_or(Value::Null);
    let same = |e: &Value| e.as_str().is_some_and(|e| e.eq_ignore_ascii_case(&email));
    let already = same(&account["email"])
        || account["members"]
            .as_array()
            .is_some_and(|m| m.iter().any(|m| same(&m["email"])));
    let status = if already {
        "already_member"
    } else if let Some(other) = tx
        .all("accounts")?
        .into_iter()
        .find(|a| a["claimed"] == true && same(&a["email"]))
    {
        let mut members = account["members"].as_array().cloned().unwrap_or_default();
        let name = owner_name(&other);
        members.push(
            json!({"userId": other["userId"], "name": name, "email": email, "joinedAt": tx.now}),
        );
        account["members"] = json!(members);
        tx.save("accounts", &ctx.account_id, &account)?;
        "member_added"
    } else {
        let id = tx.new_id("inv")?;
        if !tx
            .list("team_invites", "account", &ctx.account_id)?
            .iter()
            .any(|i| same(&i["email"]))
        {
            tx.put(
                "team_invites",
                &id,
                Some(&ctx.account_id),
                None,
                &json!({
                    "id": id, "email": email, "createdAt": tx.now, "expiresAt": tx.now + 7 * DAY,
                }),
            )?;
        }
        "invite_created"
    };
    Ok((
        200,
        json!({"ok": true, "status": status, "email": email, "team": team_shape(tx, ctx)?}),
    ))
}
