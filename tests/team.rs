//! The 2 team tools: exact requests and what each invite outcome means.

mod common;

use common::*;
use serde_json::json;
use wiremock::{Mock, ResponseTemplate};

#[tokio::test]
async fn team_tools_send_exactly_the_documented_requests() {
    check_cases(vec![
        Case {
            tool: "opentrain_get_team",
            args: json!({}),
            sent: Sent {
                method: "GET",
                path: "/api/public/v1/team",
                query: None,
                bearer: Some(PAT),
                body: SentBody::None,
            },
            status: 200,
            reply: fixture("team_get"),
            summary: &[
                "Team of Acme Research (<ORGANIZATION_ID>), owner Dana Owner.",
                "2 members:\n\
                 - Dana Owner <dana@example.com> OWNER, joined 2026-05-01T09:00:00.000Z\n\
                 - Sam Teammate <sam@example.com> MEMBER, joined 2026-06-02T14:30:00.000Z",
                "1 pending invite:\n\
                 - newhire@example.com (invite <INVITE_ID>), sent 2026-06-12T10:00:00.000Z, \
                 expires 2026-06-19T10:00:00.000Z",
            ],
        },
        Case {
            tool: "opentrain_invite_team_member",
            args: json!({"email": " newhire@example.com "}),
            sent: Sent {
                method: "POST",
                path: "/api/public/v1/team/invites",
                query: None,
                bearer: Some(PAT),
                body: SentBody::Json(json!({"email": "newhire@example.com"})),
            },
            status: 200,
            reply: fixture("team_invite"),
            summary: &[
                "invite_created: an invitation email was sent to newhire@example.com. They join \
                 once they accept it (the invite expires 2026-06-19T10:00:00.000Z)",
                "The team now has 1 member and 1 pending invite.",
            ],
        },
    ])
    .await;
}

#[tokio::test]
async fn each_invite_outcome_is_explained() {
    for (status, says) in [
        (
            "member_added",
            "member_added: newhire@example.com already had an OpenTrain account and was added \
             to the team directly",
        ),
        (
            "already_member",
            "already_member: newhire@example.com is already on the team; nothing changed.",
        ),
    ] {
        let mut reply = fixture("team_invite");
        reply["status"] = json!(status);
        let h = Harness::new().await;
        Mock::given(wiremock::matchers::any())
            .respond_with(ResponseTemplate::new(200).set_body_json(reply.clone()))
            .mount(&h.api)
            .await;
        let r = h
            .call(
                "opentrain_invite_team_member",
                json!({"email": "newhire@example.com"}),
            )
            .await;
        assert!(!is_error(&r), "{}", text(&r));
        let t = text(&r);
        assert!(t.starts_with(says), "{status}: {t}");
        assert!(!t.contains("invitation email was sent"), "{t}");
        assert_eq!(structured(&r), &reply);
    }
}

#[tokio::test]
async fn team_arguments_are_checked_before_sending() {
    check_refused(vec![
        Refused {
            tool: "opentrain_invite_team_member",
            args: json!({"email": "newhire"}),
            says: "email: \"newhire\" is not an email address",
        },
        Refused {
            tool: "opentrain_invite_team_member",
            args: json!({"email": "new hire@example.com"}),
            says: "is not an email address",
        },
        Refused {
            tool: "opentrain_invite_team_member",
            args: json!({}),
            says: "missing field `email`",
        },
    ])
    .await;

    // Arguments the tool does not take are ignored, named and never sent (clients add
    // their own, e.g. Gemini CLI's wait_for_previous).
    check_ignored(vec![Ignored {
        tool: "opentrain_invite_team_member",
        args: json!({"email": "newhire@example.com", "role": "OWNER"}),
        key: "role",
    }])
    .await;
}

#[tokio::test]
async fn an_unclaimed_account_is_told_to_claim_before_inviting() {
    let h = Harness::new().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(403).set_body_json(fixture("error_claim_required")))
        .mount(&h.api)
        .await;
    let r = h
        .call(
            "opentrain_invite_team_member",
            json!({"email": "newhire@example.com"}),
        )
        .await;
    assert!(is_error(&r));
    let t = text(&r);
    assert!(t.contains("Reason: account_claim_required."), "{t}");
    assert!(t.contains("opentrain_claim_account"), "{t}");
    assert_eq!(
        structured(&r),
        &json!({"status": 403, "error": fixture("error_claim_required")})
    );
}

#[tokio::test]
async fn a_disabled_team_feature_is_named() {
    let h = Harness::new().await;
    let error = json!({"error": "Teams are not enabled.", "code": "FORBIDDEN", "requestId": "req_5", "details": {"featureKey": "public_api_team"}});
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(403).set_body_json(error))
        .mount(&h.api)
        .await;
    let r = h.call("opentrain_get_team", json!({})).await;
    assert!(is_error(&r));
    assert!(
        text(&r).contains("The public_api_team feature is not enabled"),
        "{}",
        text(&r)
    );
}
