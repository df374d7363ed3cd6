//! The store port tables' rules: every store operation is declared once, in the tables of
//! `src/ports/store_ops.rs`, which generate the StoreActor's request variants and the port
//! impls for `StoreHandle`. A hand-written copy of either brings back the five places an
//! operation used to be written, so both are looked for in the sources.

use crate::{Tree, tokens};

/// The file holding the tables, and the generator of the StoreActor's message enum.
pub const TABLE_FILE: &str = "src/ports/store_ops.rs";
pub const GENERATOR_FILE: &str = "src/actors/store/requests.rs";

impl Tree {
    /// The ports the tables declare: every `port Name` (not the generators' `port $Port`).
    pub fn table_ports(&self) -> Vec<String> {
        let Some((_, code)) = self.files.iter().find(|(p, _)| p == TABLE_FILE) else {
            return Vec::new();
        };
        let t = tokens(code);
        t.windows(2)
            .filter(|w| w[0].0 == "port" && w[1].0.starts_with(char::is_uppercase))
            .map(|w| w[1].0.to_owned())
            .filter(|name| {
                // `$Port` lexes as `$`, `Port`: the generator's pattern, not a port.
                !t.windows(2).any(|v| v[0].0 == "$" && v[1].0 == name)
            })
            .collect()
    }

    /// `file:line` of every `impl <a table's port> for StoreHandle` written out by hand.
    pub fn hand_written_port_impls(&self) -> Vec<String> {
        let ports = self.table_ports();
        let mut out = Vec::new();
        for (path, code) in &self.files {
            let t = tokens(code);
            for w in t.windows(4) {
                let is_port = ports.iter().any(|p| p == w[1].0);
                if w[0].0 == "impl" && is_port && w[2].0 == "for" && w[3].0 == "StoreHandle" {
                    out.push(format!(
                        "{path}:{}: `impl {} for StoreHandle` by hand (add entries to the table)",
                        w[0].1, w[1].0
                    ));
                }
            }
        }
        out
    }

    /// `file:line` of every enum that carries an `RpcReplyPort` (a request with a reply)
    /// in the StoreActor's modules, other than the generated `StoreMsg`; and of a
    /// `StoreMsg` variant written out in the generator instead of made from an entry.
    pub fn request_variants_outside_tables(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (path, code) in &self.files {
            if !path.starts_with("src/actors/store/") && path != "src/ports/store.rs" {
                continue;
            }
            let t = tokens(code);
            for (k, w) in t.windows(2).enumerate() {
                if w[0].0 != "enum" {
                    continue;
                }
                let body = enum_body(&t[k + 2..]);
                let generated = path == GENERATOR_FILE && w[1].0 == "StoreMsg";
                if generated {
                    // Only `$( $( … $Variant { … } , )* )*`: one variant name, a metavariable.
                    let names = variant_names(body);
                    if names != ["$Variant"] {
                        out.push(format!(
                            "{path}:{}: StoreMsg has variants {names:?} besides the table's",
                            w[0].1
                        ));
                    }
                } else if body.iter().any(|(s, _)| *s == "RpcReplyPort") {
                    out.push(format!(
                        "{path}:{}: enum {} carries a reply port: a request outside the tables",
                        w[0].1, w[1].0
                    ));
                }
            }
        }
        out
    }
}

/// The tokens between an item's first `{` and its matching `}`.
fn enum_body<'a>(t: &'a [(&'a str, usize)]) -> &'a [(&'a str, usize)] {
    let Some(open) = t.iter().position(|(s, _)| *s == "{") else {
        return &[];
    };
    let mut depth = 0;
    for (k, (s, _)) in t.iter().enumerate().skip(open) {
        match *s {
            "{" => depth += 1,
            "}" => {
                depth -= 1;
                if depth == 0 {
                    return &t[open + 1..k];
                }
            }
            _ => {}
        }
    }
    &t[open + 1..]
}

/// The names (or `$metavariables`) that start a variant at the enum body's top level:
/// after the start or a top-level `,`, skipping attributes and repetition openers.
fn variant_names(body: &[(&str, usize)]) -> Vec<String> {
    let (mut out, mut depth, mut expect) = (Vec::new(), 0i32, true);
    let mut k = 0;
    while k < body.len() {
        let s = body[k].0;
        match s {
            "{" | "(" | "[" if depth > 0 || !expect || s == "{" => depth += 1,
            "}" | ")" | "]" if depth > 0 => depth -= 1,
            "," if depth == 0 => expect = true,
            "#" if expect => {
                // An attribute: skip `#[ … ]`.
                let mut d = 0;
                k += 1;
                while k < body.len() {
                    match body[k].0 {
                        "[" => d += 1,
                        "]" => {
                            d -= 1;
                            if d == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                    k += 1;
                }
            }
            "$" if expect && body.get(k + 1).is_some_and(|n| n.0 != "(") => {
                out.push(format!("${}", body[k + 1].0));
                expect = false;
                k += 1;
            }
            _ if expect && depth == 0 && s.starts_with(char::is_uppercase) => {
                out.push(s.to_owned());
                expect = false;
            }
            _ => {}
        }
        k += 1;
    }
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use crate::tests::tree;

    const TABLE: &str = "macro_rules! port_traits { (port $Port:ident) => {} }\n\
        macro_rules! store_ports { () => { port ConversationStore (Send) {} port BanStore (Send) {} } }\n";

    #[test]
    fn finds_the_tables_ports_not_the_generators_pattern() {
        let t = tree(&[(super::TABLE_FILE, TABLE)]);
        assert_eq!(t.table_ports(), ["ConversationStore", "BanStore"]);
    }

    #[test]
    fn a_hand_written_port_impl_is_reported() {
        let t = tree(&[
            (super::TABLE_FILE, TABLE),
            (
                "src/actors/store/requests.rs",
                "macro_rules! g { () => { impl $Port for StoreHandle {} } }\n",
            ),
            (
                "src/actors/store/handle.rs",
                "struct StoreHandle;\n\nimpl BanStore for StoreHandle {}\n",
            ),
        ]);
        assert_eq!(
            t.hand_written_port_impls(),
            [
                "src/actors/store/handle.rs:3: `impl BanStore for StoreHandle` by hand (add entries to the table)"
            ]
        );
    }

    #[test]
    fn a_request_outside_the_table_is_reported() {
        let generator = "macro_rules! g { ($($V:ident)*) => {\n\
            pub enum StoreMsg { $( #[doc = x] $Variant { reply: Option<RpcReplyPort<T>> }, )* }\n} }\n";
        let t = tree(&[(super::GENERATOR_FILE, generator)]);
        assert!(t.request_variants_outside_tables().is_empty());
        let extra = generator.replace(
            "pub enum StoreMsg { ",
            "pub enum StoreMsg { Flush(RpcReplyPort<()>), ",
        );
        let lane = "pub enum LaneJob {\n    Write(StoreMsg),\n    Barrier(RpcReplyPort<()>),\n}\n";
        let t = tree(&[
            (super::GENERATOR_FILE, &extra),
            ("src/actors/store/lane.rs", lane),
        ]);
        assert_eq!(
            t.request_variants_outside_tables(),
            [
                "src/actors/store/lane.rs:1: enum LaneJob carries a reply port: a request outside the tables",
                "src/actors/store/requests.rs:2: StoreMsg has variants [\"$Variant\", \"Flush\"] besides the table's",
            ]
        );
    }
}
