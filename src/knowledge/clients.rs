//! Clients that are busy at every crash because they are busy all the time: search-engine
//! crawlers, uptime monitors, load-balancer and orchestrator probes. A client suspect made of
//! them is discounted; a request pattern they happen to carry is judged on its own.

/// User-agent marks of crawlers, monitors and probes (matched case-insensitively), and what
/// to call them.
const KNOWN: &[(&str, &str)] = &[
    ("googlebot", "the Googlebot crawler"),
    ("bingbot", "the Bing crawler"),
    ("yandexbot", "the Yandex crawler"),
    ("baiduspider", "the Baidu crawler"),
    ("duckduckbot", "the DuckDuckGo crawler"),
    ("applebot", "the Apple crawler"),
    ("slurp", "the Yahoo crawler"),
    ("ahrefsbot", "the Ahrefs crawler"),
    ("semrushbot", "the Semrush crawler"),
    ("mj12bot", "the Majestic crawler"),
    ("petalbot", "the Petal crawler"),
    ("pingdom", "the Pingdom monitor"),
    ("uptimerobot", "the UptimeRobot monitor"),
    ("statuscake", "the StatusCake monitor"),
    ("site24x7", "the Site24x7 monitor"),
    ("newrelicpinger", "the New Relic monitor"),
    ("datadogsynthetics", "the Datadog monitor"),
    ("catchpoint", "the Catchpoint monitor"),
    ("alwayson", "Azure App Service's Always On ping"),
    ("elb-healthchecker", "the AWS load balancer's health check"),
    ("kube-probe", "a Kubernetes probe"),
    ("azure traffic manager", "Azure Traffic Manager's probe"),
    ("check_http", "a Nagios check"),
    ("zabbix", "a Zabbix check"),
    ("prtg", "a PRTG sensor"),
];

/// What a user agent is, when it is a known crawler, monitor or probe.
pub fn known_robot(user_agent: &str) -> Option<&'static str> {
    let ua = user_agent.to_ascii_lowercase().replace('+', " ");
    KNOWN
        .iter()
        .find(|(mark, _)| ua.contains(mark))
        .map(|&(_, what)| what)
}

#[cfg(test)]
mod tests {
    use super::known_robot;

    #[test]
    fn robots_are_known_by_their_agents() {
        let g = "Mozilla/5.0+(compatible;+Googlebot/2.1;++http://www.google.com/bot.html)";
        assert_eq!(known_robot(g), Some("the Googlebot crawler"));
        assert_eq!(
            known_robot("Mozilla/5.0+(compatible;+UptimeRobot/2.0)"),
            Some("the UptimeRobot monitor")
        );
        assert_eq!(
            known_robot("Mozilla/5.0 (Windows NT 10.0; Win64; x64)"),
            None
        );
    }
}
