//! The `kompetanse` command: serve (default), migrate, seed, schema, token, bench.

// The merged GraphQL root types nest deeply enough that computing the
// layout of their async resolvers needs more than the default 128.
#![recursion_limit = "256"]

use std::process::ExitCode;

use entity::enums::Role;
use kompetanse::auth::mint;
use kompetanse::config::{BenchCommand, Cli, Command, RoleArg};
use kompetanse::{Application, db, domain, graphql, telemetry};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse_args();
    // The span export layer only when spans are exported (a bad setting
    // is reported by the command itself).
    let export = matches!(cli.settings.tracing.otlp(), Ok(Some(_)));
    telemetry::init(cli.settings.log_format, export);
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("kompetanse: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    let settings = cli.settings;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let app = Application::build(settings).await?;
            app.run_until_stopped().await?;
        }
        Command::Migrate { reset } => {
            settings.validate()?;
            let conn = db::connect_maintenance(&settings).await?;
            if reset {
                db::reset(&conn).await?;
                println!("all migrations reverted");
            } else {
                db::migrate(&conn).await?;
                println!("database is up to date");
            }
        }
        Command::Seed { synthetic, seed } => {
            if let Some(scale) = synthetic {
                domain::seed::national::check_scale(scale)
                    .map_err(|e| format!("--synthetic: {e}"))?;
            }
            settings.validate()?;
            let conn = db::connect_maintenance(&settings).await?;
            db::migrate(&conn).await?;
            if let Some(scale) = synthetic {
                let report = domain::seed::seed_synthetic(&conn, scale, seed).await?;
                println!("{report}");
            } else {
                match domain::seed::seed_if_empty(&conn).await? {
                    Some(report) => println!("{report}"),
                    None => println!("the database already holds data; nothing loaded"),
                }
            }
        }
        Command::Schema => {
            // A closed pipe (`kompetanse schema | head`) ends the output
            // quietly.
            use std::io::Write;
            let _ = std::io::stdout().write_all(graphql::sdl().as_bytes());
        }
        Command::Bench(BenchCommand::Stats {
            scale,
            seed,
            repeat,
        }) => {
            settings.validate()?;
            let conn = db::connect_maintenance(&settings).await?;
            db::migrate(&conn).await?;
            kompetanse::bench::stats(&conn, scale, seed, repeat as usize).await?;
        }
        Command::Token(args) => {
            settings.validate()?;
            // A token is only good for the server whose database and
            // secret it was minted with: never create a new database here.
            if let Some(file) = db::sqlite_file(&settings.database_url)
                && !file.exists()
            {
                let shown = std::path::absolute(&file).unwrap_or(file);
                return Err(format!(
                    "no database at {}: `kompetanse token` signs for an existing server's \
                     database and secret. Run it in the folder where the server runs, or \
                     pass the server's --database-url (KOMPETANSE_DATABASE_URL)",
                    shown.display()
                )
                .into());
            }
            let conn = db::connect_maintenance(&settings).await?;
            db::migrate(&conn).await?;
            domain::seed::seed_if_empty(&conn).await?;
            let role = match args.role {
                RoleArg::Staff => Role::Staff,
                RoleArg::Leader => Role::Leader,
                RoleArg::Provider => Role::Provider,
                RoleArg::Funder => Role::Funder,
                RoleArg::Admin => Role::Admin,
            };
            let request = mint::TokenRequest {
                role,
                service: args.service,
                provider: args.provider,
                office: args.office,
                person: args.person,
                ttl: mint::parse_ttl(&args.ttl).map_err(|e| format!("--ttl: {e}"))?,
                subject: args.subject,
            };
            let minted = mint::mint(&settings, &conn, request).await?;
            println!("role:    {}", minted.role);
            println!("scope:   {}", minted.scope);
            println!("subject: {}", minted.subject);
            println!("expires: {}", minted.expires_at.to_rfc3339());
            println!("use as:  Authorization: Bearer <token below>");
            println!("{}", minted.token);
        }
        Command::ExportPerson { person, output } => {
            settings.validate()?;
            let conn = db::connect_maintenance(&settings).await?;
            db::migrate(&conn).await?;
            let data = domain::people::subject_access::export(&conn, &person).await?;
            let text = serde_json::to_string_pretty(&data)?;
            match output {
                Some(file) => {
                    std::fs::write(&file, text + "\n")?;
                    eprintln!("written to {}", file.display());
                }
                None => println!("{text}"),
            }
        }
        Command::Retention { years, dry_run } => {
            settings.validate()?;
            let conn = db::connect_maintenance(&settings).await?;
            db::migrate(&conn).await?;
            let today = chrono::Utc::now().date_naive();
            let report = domain::people::retention::apply(
                &conn,
                years,
                today,
                dry_run,
                domain::people::retention::BATCH,
            )
            .await?;
            println!(
                "{report}{}",
                if dry_run {
                    " (dry run: nothing erased)"
                } else {
                    ""
                }
            );
        }
    }
    Ok(())
}
