//! `lessons check`: validates lesson files and plays each on the seeded modeled run, so a
//! lesson whose claims stop holding (after an engine change, say) is caught before a learner
//! meets it.
use clap::Subcommand;
use std::path::PathBuf;

#[derive(Subcommand, Debug)]
pub enum LessonsAction {
    /// Parse every lesson, play its steps on the seeded modeled run and evaluate its checks;
    /// prints one line per problem (file:line:column: field: message).
    Check {
        /// Lesson files or folders of them (default: lessons/).
        paths: Vec<PathBuf>,
    },
}

pub fn run(action: LessonsAction) -> anyhow::Result<()> {
    match action {
        LessonsAction::Check { paths } => {
            let paths = if paths.is_empty() {
                vec![engine::lesson::default_dir().to_path_buf()]
            } else {
                paths
            };
            let problems = engine::lesson::check_all(&paths);
            for p in &problems {
                println!("{p}");
            }
            let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
            if !problems.is_empty() {
                anyhow::bail!("{} problem(s) in {}", problems.len(), shown.join(", "));
            }
            println!("every lesson in {} checks out", shown.join(", "));
            Ok(())
        }
    }
}
