//! Servers under descriptor exhaustion: how much CPU a process burns, and whether a server
//! answers again.

use std::io::{Read as _, Write as _};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// CPU ticks (user + system) process `pid` has used so far, from `/proc/<pid>/stat`.
pub fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the command name.
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

/// Asks `GET /ping` at `addr` every 100 ms until an answer starts with `status_line` (e.g.
/// `HTTP/1.1 200`); `false` if none did within `within`.
pub fn answers_again(addr: SocketAddr, status_line: &str, within: Duration) -> bool {
    let started = Instant::now();
    loop {
        let attempt = std::net::TcpStream::connect(addr).and_then(|mut s| {
            s.set_read_timeout(Some(Duration::from_secs(3)))?;
            s.write_all(b"GET /ping HTTP/1.1\r\nHost: local\r\nConnection: close\r\n\r\n")?;
            let mut answer = String::new();
            s.read_to_string(&mut answer)?;
            Ok(answer)
        });
        match attempt {
            Ok(answer) if answer.starts_with(status_line) => return true,
            _ if started.elapsed() > within => return false,
            _ => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}
