//! `WWW-Authenticate` challenges (RFC 7235 syntax; RFC 6750's `error` parameter) as registries send
//! them (https://distribution.github.io/distribution/spec/auth/token/): `Basic`, or `Bearer` naming
//! the token server (`realm`), the `service`, the `scope`s a request needs, and why a token was
//! refused (`invalid_token`, `insufficient_scope`).

/// A parsed `WWW-Authenticate` challenge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Challenge {
    Basic,
    Bearer {
        realm: String,
        service: Option<String>,
        scope: Option<String>,
        /// RFC 6750's `error`: `invalid_token` (expired, say) or `insufficient_scope`.
        error: Option<String>,
    },
}

impl Challenge {
    /// Parses `Bearer realm="…",service="…",scope="…"` or `Basic realm="…"`.
    pub fn parse(header: &str) -> Option<Challenge> {
        let header = header.trim();
        let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
        if scheme.eq_ignore_ascii_case("basic") {
            return Some(Challenge::Basic);
        }
        if !scheme.eq_ignore_ascii_case("bearer") {
            return None;
        }
        let params = parse_params(rest);
        let get = |k: &str| {
            params
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(k))
                .map(|(_, v)| v.clone())
        };
        Some(Challenge::Bearer {
            realm: get("realm")?,
            service: get("service"),
            scope: get("scope"),
            error: get("error"),
        })
    }

    /// The scopes a challenge asks for, added to `ours`: one `type:name:actions` per resource (ours
    /// first), the actions of both joined — a challenge naming `repository:app:pull` adds nothing to
    /// `repository:app:pull,push`.
    pub fn merged_scope(&self, ours: &str) -> String {
        let theirs = match self {
            Challenge::Bearer {
                scope: Some(theirs),
                ..
            } => theirs.as_str(),
            Challenge::Bearer { scope: None, .. } | Challenge::Basic => "",
        };
        let mut resources: Vec<(&str, Vec<&str>)> = Vec::new();
        for scope in ours.split(' ').chain(theirs.split(' ')) {
            let Some((resource, actions)) = scope.rsplit_once(':') else {
                continue;
            };
            let index = match resources.iter().position(|(r, _)| *r == resource) {
                Some(i) => i,
                None => {
                    resources.push((resource, Vec::new()));
                    resources.len() - 1
                }
            };
            for action in actions.split(',').filter(|a| !a.is_empty()) {
                if !resources[index].1.contains(&action) {
                    resources[index].1.push(action);
                }
            }
        }
        resources
            .iter()
            .map(|(resource, actions)| format!("{resource}:{}", actions.join(",")))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// The repository a scope is first about (`repository:NAME:pull,push …` → `NAME`): whose credentials
/// answer the challenge, and what a refusal names.
pub fn scope_repository(scope: &str) -> &str {
    scope
        .split(' ')
        .find_map(|s| s.strip_prefix("repository:"))
        .map_or("", |rest| {
            rest.rsplit_once(':').map_or(rest, |(name, _)| name)
        })
}

/// `k="v", k2=v2` with quoted values that may contain commas.
fn parse_params(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if key.is_empty() {
            break;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            value = chars.by_ref().take_while(|c| *c != ',').collect();
        }
        out.push((key.trim().to_string(), value.trim().to_string()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_challenges() {
        let c = Challenge::parse(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull,push""#,
        );
        assert_eq!(
            c,
            Some(Challenge::Bearer {
                realm: "https://auth.docker.io/token".into(),
                service: Some("registry.docker.io".into()),
                scope: Some("repository:library/busybox:pull,push".into()),
                error: None,
            })
        );
        assert_eq!(
            Challenge::parse(r#"Basic realm="Registry Realm""#),
            Some(Challenge::Basic)
        );
        assert_eq!(
            Challenge::parse("bearer realm=http://x/t"),
            Some(Challenge::Bearer {
                realm: "http://x/t".into(),
                service: None,
                scope: None,
                error: None,
            })
        );
        let expired = Challenge::parse(
            r#"Bearer realm="http://x/t",service="s",scope="repository:a:pull,push",error="insufficient_scope""#,
        )
        .unwrap();
        assert!(matches!(
            &expired,
            Challenge::Bearer { error: Some(e), .. } if e == "insufficient_scope"
        ));
        assert_eq!(
            expired.merged_scope("repository:a:pull,push repository:b:pull"),
            "repository:a:pull,push repository:b:pull"
        );
        assert_eq!(expired.merged_scope(""), "repository:a:pull,push");
        assert_eq!(
            Challenge::Basic.merged_scope("repository:a:pull repository:b:pull"),
            "repository:a:pull repository:b:pull"
        );
        let head = Challenge::parse(
            r#"Bearer realm="http://x/t",scope="repository:a:pull repository:c:push""#,
        )
        .unwrap();
        assert_eq!(
            head.merged_scope("repository:a:pull,push"),
            "repository:a:pull,push repository:c:push"
        );
        assert_eq!(Challenge::parse("Negotiate"), None);
        assert_eq!(Challenge::parse("Bearer service=\"x\""), None);
    }

    #[test]
    fn the_repository_of_a_scope_is_its_first() {
        assert_eq!(
            scope_repository("repository:team/app:pull,push repository:base:pull"),
            "team/app"
        );
        assert_eq!(scope_repository(""), "");
    }
}
