//! EXPOSE port specs as BuildKit reads them (`dockerfile2llb/convert_expose.go`): `[ip:][hostPort:]port`
//! with an optional `/tcp`, `/udp` or `/sctp` (any case) and port ranges; only the container port is
//! kept. An address or host port is accepted but warned about (`ExposeInvalidFormat`), as is an
//! upper-case protocol (`ExposeProtoCasing`).

use super::lint::Rule;

/// The `port/proto` entries a spec exposes, and the checks it raises (rule, message).
pub type Exposed = (Vec<String>, Vec<(Rule, String)>);

/// The `port/proto` entries one spec exposes, with the checks it raises.
pub fn parse(raw: &str) -> Result<Exposed, String> {
    let parts: Vec<&str> = raw.split(':').collect();
    let (ip, host, container) = match parts.as_slice() {
        [c] => ("".to_string(), "", *c),
        [h, c] => ("".to_string(), *h, *c),
        [i, h, c] => (i.to_string(), *h, *c),
        _ => {
            let n = parts.len();
            (parts[..n - 2].join(":"), parts[n - 2], parts[n - 1])
        }
    };
    let (port, proto) = container.split_once('/').unwrap_or((container, ""));
    if port.is_empty() {
        return Err(format!("invalid port: \"{raw}\": no port specified"));
    }
    let proto = match proto.to_ascii_lowercase().as_str() {
        "" => "tcp".to_string(),
        "tcp" | "udp" | "sctp" => proto.to_string(),
        _ => return Err(format!("invalid port: \"{raw}\": invalid proto: {proto}")),
    };
    let mut checks = Vec::new();
    if proto != proto.to_ascii_lowercase() {
        checks.push((
            Rule::ExposeProtoCasing,
            format!("Defined protocol '{raw}' in EXPOSE instruction should be lowercase"),
        ));
    }
    if !ip.is_empty() || !host.is_empty() {
        checks.push((
            Rule::ExposeInvalidFormat,
            format!(
                "EXPOSE instruction should not define an IP address or host-port mapping, found '{raw}'"
            ),
        ));
    }
    if !ip.is_empty() {
        let bare = ip
            .strip_prefix('[')
            .and_then(|i| i.strip_suffix(']'))
            .unwrap_or(&ip);
        if bare.parse::<std::net::IpAddr>().is_err() {
            return Err(format!("invalid IP address: {ip}"));
        }
    }
    let (start, end) = range(port).map_err(|_| format!("invalid containerPort: {port}"))?;
    if !host.is_empty() {
        let (hs, he) = range(host).map_err(|_| format!("invalid hostPort: {host}"))?;
        if end - start != he - hs && end != start {
            return Err(format!(
                "invalid ranges specified for container and host Ports: {port} and {host}"
            ));
        }
    }
    let proto = proto.to_ascii_lowercase();
    Ok((
        (start..=end).map(|p| format!("{p}/{proto}")).collect(),
        checks,
    ))
}

/// `8000` or `8000-8010` (ports 0–65535).
fn range(text: &str) -> Result<(u32, u32), ()> {
    let number = |s: &str| -> Result<u32, ()> {
        let n: i64 = s.parse().map_err(|_| ())?;
        u32::try_from(n).ok().filter(|n| *n <= 65535).ok_or(())
    };
    let (a, b) = text.split_once('-').unwrap_or((text, text));
    let start = number(a)?;
    if a == b {
        return Ok((start, start));
    }
    let end = number(b)?;
    if end < start {
        return Err(());
    }
    Ok((start, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ports(raw: &str) -> Vec<String> {
        parse(raw).unwrap().0
    }

    #[test]
    fn specs() {
        assert_eq!(ports("80"), ["80/tcp"]);
        assert_eq!(ports("53/UDP"), ["53/udp"]);
        assert_eq!(
            ports("8000-8002/sctp"),
            ["8000/sctp", "8001/sctp", "8002/sctp"]
        );
        assert_eq!(ports("8080:80"), ["80/tcp"]);
        assert_eq!(ports("127.0.0.1:8080:80"), ["80/tcp"]);
        assert_eq!(ports("[::1]:8080:80"), ["80/tcp"]);
        assert_eq!(ports("0"), ["0/tcp"]);
        assert_eq!(parse("80/TCP").unwrap().1[0].0, Rule::ExposeProtoCasing);
        assert_eq!(parse("80:80").unwrap().1[0].0, Rule::ExposeInvalidFormat);
        for bad in [
            "",
            "/tcp",
            "80/http",
            "x",
            "70000",
            "90-80",
            "1.2.3:80:80",
            "80-",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
