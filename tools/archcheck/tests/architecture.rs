//! The architecture of the workspace root's `src/`: one test per rule group.

use archcheck::{Rule, Tree, within};
use std::path::Path;

fn tree() -> Tree {
    Tree::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
}

fn assert_none(what: &str, problems: Vec<String>) {
    assert!(
        problems.is_empty(),
        "{} {what}:\n{}\n",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn no_import_cycles_between_modules() {
    assert_none("import cycles (a -> b: a names b)", tree().cycles());
}

#[test]
fn external_crates_stay_in_their_adapter() {
    let rules = [
        Rule {
            name: "serenity and poise belong in src/discord/",
            applies: |m| !within(m, "crate::discord"),
            forbidden: "serenity poise",
        },
        Rule {
            name: "async_openai belongs in src/llm/",
            applies: |m| !within(m, "crate::llm"),
            forbidden: "async_openai",
        },
        Rule {
            name: "the HTTP server crates belong in the console (and the ops endpoints)",
            applies: |m| !within(m, "crate::console") && !within(m, "crate::ops"),
            forbidden: "axum tower_http argon2 form_urlencoded",
        },
        Rule {
            name: "the database crates belong in src/store/",
            applies: |m| !within(m, "crate::store"),
            forbidden: "sea_orm sqlx entity:: migration::",
        },
        Rule {
            name: "the metrics facade belongs in src/telemetry/ (names in one place)",
            applies: |m| !within(m, "crate::telemetry"),
            forbidden: "metrics::",
        },
        Rule {
            name: "the Prometheus exporter belongs in src/telemetry/ and src/ops/",
            applies: |m| !within(m, "crate::telemetry") && !within(m, "crate::ops"),
            forbidden: "metrics_exporter_prometheus",
        },
        Rule {
            name: "axum (HTTP servers) belongs in src/ops/ and src/console/",
            applies: |m| !within(m, "crate::ops") && !within(m, "crate::console"),
            forbidden: "axum",
        },
    ];
    assert_none(
        "external crates named outside their adapter",
        tree().violations(&rules),
    );
}

#[test]
fn domain_and_prompts_are_pure() {
    let rule = Rule {
        name: "domain and prompts stay pure",
        applies: |m| within(m, "crate::domain") || within(m, "crate::prompts"),
        forbidden: "tokio ractor serenity poise sea_orm async_openai reqwest axum metrics:: \
                    crate::actors crate::store crate::discord crate::llm crate::app \
                    crate::telemetry crate::ops",
    };
    assert_none(
        "impurities in domain/ and prompts/",
        tree().violations(&[rule]),
    );
}

#[test]
fn ports_name_no_implementation() {
    let rule = Rule {
        name: "ports name no implementation",
        applies: |m| within(m, "crate::ports"),
        forbidden: "crate::actors crate::store crate::discord crate::llm crate::app \
                    crate::ops serenity sea_orm async_openai axum",
    };
    assert_none(
        "implementations named in ports/",
        tree().violations(&[rule]),
    );
}

#[test]
fn steps_reach_the_world_through_ports() {
    let rule = Rule {
        name: "steps name no actor or adapter",
        applies: |m| within(m, "crate::steps"),
        forbidden: "crate::actors crate::discord crate::llm crate::store crate::app \
                    crate::ops serenity poise sea_orm async_openai ractor axum",
    };
    assert_none(
        "actors or adapters named in steps/",
        tree().violations(&[rule]),
    );
}

#[test]
fn actors_do_not_reach_into_adapters() {
    let rule = Rule {
        name: "actors name no Discord, database or LLM adapter",
        applies: |m| within(m, "crate::actors"),
        forbidden: "serenity poise sea_orm async_openai axum crate::discord crate::llm crate::ops",
    };
    assert_none("adapters named in actors/", tree().violations(&[rule]));
}

#[test]
fn the_console_acts_through_the_bots_handles() {
    let rule = Rule {
        name: "the console changes the bot only through actor handles (the slash commands' path)",
        applies: |m| within(m, "crate::console"),
        forbidden: "crate::store crate::discord crate::llm crate::steps crate::app \
                    serenity poise sea_orm async_openai",
    };
    assert_none(
        "adapters or steps named in console/",
        tree().violations(&[rule]),
    );
}

#[test]
fn telemetry_and_ops_stay_at_the_edge() {
    // Telemetry is a leaf every layer but the pure ones may record into: it names no
    // actor, adapter or server. The ops server reads telemetry, ports and config only.
    let rules = [
        Rule {
            name: "telemetry names no actor, adapter, step or server",
            applies: |m| within(m, "crate::telemetry"),
            forbidden: "crate::actors crate::discord crate::llm crate::store crate::steps \
                        crate::app crate::ops serenity poise sea_orm async_openai axum",
        },
        Rule {
            name: "ops names no actor or adapter",
            applies: |m| within(m, "crate::ops"),
            forbidden: "crate::actors crate::discord crate::llm crate::store crate::steps \
                        crate::app serenity poise sea_orm async_openai",
        },
    ];
    assert_none(
        "telemetry or ops reaching inward",
        tree().violations(&rules),
    );
}

#[test]
fn only_main_and_lib_use_app() {
    let rule = Rule {
        name: "only src/main.rs and src/lib.rs may use crate::app",
        applies: |m| m != "main" && m != "crate",
        forbidden: "crate::app",
    };
    assert_none("uses of crate::app", tree().violations(&[rule]));
}

#[test]
fn files_stay_under_400_lines_of_code() {
    assert_none("oversized files", tree().oversized(400));
}

#[test]
fn store_operations_are_declared_only_in_the_port_tables() {
    let tree = tree();
    assert!(
        tree.table_ports().len() >= 8,
        "the port tables of {} were not found",
        archcheck::tables::TABLE_FILE
    );
    assert_none(
        "port impls for StoreHandle written by hand",
        tree.hand_written_port_impls(),
    );
    assert_none(
        "store requests declared outside the tables",
        tree.request_variants_outside_tables(),
    );
}
