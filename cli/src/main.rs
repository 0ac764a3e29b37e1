//! `converso`: extract the audio of a video file from the command line.

mod files;

use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use converso_core::{Error, ErrorCode, ExtractOptions, Extraction, MediaInfo, OutputFormat, Quality};
use files::{FileSink, FileSource, StdoutSink};
use indicatif::{ProgressBar, ProgressStyle};

/// Extract the audio of a video: lossless copy when the codec allows, else re-encode.
#[derive(Parser)]
#[command(name = "converso", version, about, after_help = EXIT_CODES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

const EXIT_CODES: &str = "Exit codes: 0 success, 2 usage error, 3 INVALID_VIDEO (unreadable input, no audio, \
undecodable audio), 4 INVALID_OUTPUT (bad options or output not possible), 5 EXTRACTION_FAILED \
(failure part-way), 6 input or output file cannot be opened.";

#[derive(Subcommand)]
enum Command {
    /// Show the container, tracks and tags of a file.
    Probe {
        /// Input file, or - for standard input.
        file: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Extract one audio track to an audio file.
    Extract {
        /// Input file, or - for standard input.
        file: PathBuf,
        /// Output format: mp3, aac, flac, wav, ogg or opus.
        #[arg(short, long, value_parser = parse_format)]
        format: OutputFormat,
        /// Quality: low, medium, high or extreme.
        #[arg(short, long, value_parser = parse_quality)]
        quality: Option<Quality>,
        /// Bitrate such as 192k (overrides --quality).
        #[arg(short, long)]
        bitrate: Option<String>,
        /// Normalise loudness (EBU R128).
        #[arg(long)]
        normalize: bool,
        /// Copy title, artist, album, … into the output.
        #[arg(long)]
        preserve_metadata: bool,
        /// Audio track to extract, counting audio tracks from 0 (default: the default track).
        #[arg(short, long)]
        track: Option<usize>,
        /// Output file, or - for standard output (default: the input's name with the format's
        /// extension, next to the input).
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Overwrite the output file if it exists.
        #[arg(short = 'y', long)]
        overwrite: bool,
        /// Print what was done as JSON on standard output (not with -o -).
        #[arg(long)]
        json: bool,
    },
}

fn parse_format(s: &str) -> Result<OutputFormat, String> {
    OutputFormat::parse(s).map_err(|e| e.details.unwrap_or_default())
}

fn parse_quality(s: &str) -> Result<Quality, String> {
    Quality::parse(s).map_err(|e| e.details.unwrap_or_default())
}

/// A failure to report: an engine error, or a file that cannot be opened.
enum Failure {
    Engine(Error),
    File(String),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Engine(e)
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Probe { file, json } => probe(&file, json),
        Command::Extract {
            file,
            format,
            quality,
            bitrate,
            normalize,
            preserve_metadata,
            track,
            output,
            overwrite,
            json,
        } => {
            let mut options = ExtractOptions::new(format);
            options.quality = quality;
            options.bitrate = bitrate;
            options.normalize = normalize;
            options.preserve_metadata = preserve_metadata;
            options.track = track;
            extract(&file, &options, output, overwrite, json)
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Engine(e)) => {
            eprintln!("converso: {e}");
            ExitCode::from(match e.code {
                ErrorCode::InvalidVideo => 3,
                ErrorCode::InvalidOutput => 4,
                _ => 5,
            })
        }
        Err(Failure::File(msg)) => {
            eprintln!("converso: {msg}");
            ExitCode::from(6)
        }
    }
}

fn open_input(path: &Path) -> Result<FileSource, Failure> {
    let r = if path == Path::new("-") { FileSource::spool_stdin() } else { FileSource::open(path) };
    r.map_err(|e| Failure::File(format!("cannot read {}: {e}", path.display())))
}

fn probe(path: &Path, json: bool) -> Result<(), Failure> {
    let info = converso_core::probe(open_input(path)?)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&info).unwrap_or_default());
    } else {
        print_info(&info);
    }
    Ok(())
}

fn print_info(info: &MediaInfo) {
    let duration = info.duration.map_or("unknown".into(), |d| format!("{d:.3} s"));
    println!("container: {}  size: {} bytes  duration: {duration}", info.container.as_str(), info.size);
    for t in &info.tracks {
        let mut line = format!("  #{} {:?} {}", t.index, t.kind, t.codec).to_lowercase();
        if let Some(p) = &t.profile {
            line += &format!(" ({p})");
        }
        if let Some(c) = t.channels {
            line += &format!(", {c} ch");
        }
        if let Some(r) = t.sample_rate {
            line += &format!(", {r} Hz");
        }
        if let Some(b) = t.bitrate {
            line += &format!(", {} kbps", (b + 500) / 1000);
        }
        if let Some(l) = &t.language {
            line += &format!(", {l}");
        }
        if let Some(a) = t.audio_index {
            line += &format!("  [audio track {a}]");
        }
        if t.default {
            line += " default";
        }
        println!("{line}");
    }
    let tags = serde_json::to_string(&info.tags).unwrap_or_default();
    if !info.tags.is_empty() {
        println!("tags: {tags}");
    }
}

/// The input's name with the format's extension, next to the input (`audio.<ext>` for stdin).
fn default_output(input: &Path, format: OutputFormat) -> PathBuf {
    if input == Path::new("-") {
        return PathBuf::from(format!("audio.{}", format.extension()));
    }
    let mut out = input.with_extension(format.extension());
    if out == input {
        let stem = input.file_stem().unwrap_or_default().to_string_lossy();
        out = input.with_file_name(format!("{stem}.audio.{}", format.extension()));
    }
    out
}

fn extract(
    input: &Path,
    options: &ExtractOptions,
    output: Option<PathBuf>,
    overwrite: bool,
    json: bool,
) -> Result<(), Failure> {
    let source = open_input(input)?;
    let output = output.unwrap_or_else(|| default_output(input, options.format));
    if output == Path::new("-") {
        let sink = StdoutSink(io::BufWriter::new(io::stdout()));
        let mut ex = Extraction::new(source, options, sink)?;
        eprintln!("converso: {}", ex.plan().describe());
        print_notes(ex.plan());
        run(&mut ex)?;
        return Ok(());
    }
    if output.exists() && !overwrite {
        return Err(Failure::File(format!("{} already exists (use -y to overwrite)", output.display())));
    }
    let sink =
        FileSink::create(&output).map_err(|e| Failure::File(format!("cannot write {}: {e}", output.display())))?;
    let mut ex = Extraction::new(source, options, sink)?;
    if !json {
        eprintln!("converso: {} → {}", ex.plan().describe(), output.display());
        print_notes(ex.plan());
    }
    let summary = run(&mut ex)?;
    let plan = ex.plan().clone();
    ex.into_sink().commit().map_err(|e| Failure::File(format!("cannot write {}: {e}", output.display())))?;
    if json {
        let report = serde_json::json!({ "output": output, "plan": plan, "summary": summary });
        println!("{}", serde_json::to_string_pretty(&report).unwrap_or_default());
    }
    Ok(())
}

/// The plan's notes (what an option cannot do here), one line each.
fn print_notes(plan: &converso_core::Plan) {
    for note in &plan.notes {
        eprintln!("converso: note: {note}");
    }
}

/// Steps the extraction to the end, with a progress bar when stderr is a terminal.
fn run<K: converso_core::ByteSink>(ex: &mut Extraction<K>) -> Result<converso_core::Summary, Failure> {
    let bar = io::stderr().is_terminal().then(|| {
        let bar = ProgressBar::new(1000);
        bar.set_style(
            ProgressStyle::with_template("{bar:40} {percent:>3}%  elapsed {elapsed}  eta {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    });
    let result = ex.run(|p| {
        if let Some(b) = &bar {
            b.set_position((p * 1000.0) as u64);
        }
    });
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let summary = result?;
    if let Some(n) = &summary.normalization {
        let measured = n.input_lufs.map_or("silent".into(), |l| format!("{l:.1} LUFS"));
        let limited = if n.peak_limited { ", held back by the true-peak cap" } else { "" };
        eprintln!("converso: loudness {measured}, gain {:+.1} dB{limited}", n.gain_db);
    }
    if summary.skipped_packets > 0 {
        eprintln!("converso: warning: {} damaged audio packets were skipped", summary.skipped_packets);
    }
    let _ = io::stderr().flush();
    Ok(summary)
}
