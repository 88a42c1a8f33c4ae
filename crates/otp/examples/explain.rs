//! Prints how the extractor judged each message given on the command line (or one per line on stdin):
//! `cargo run -p simrelay-otp --example explain -- "Your code is 123456"`.

use std::io::BufRead;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let messages: Vec<String> = if args.is_empty() {
        std::io::stdin()
            .lock()
            .lines()
            .map_while(Result::ok)
            .map(|l| l.replace("\\n", "\n"))
            .collect()
    } else {
        args
    };
    for m in messages {
        println!("{m:?}\n{}", simrelay_otp::explain(&m));
    }
}
