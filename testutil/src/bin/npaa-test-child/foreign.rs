//! Roles that write with other crates, whose crashed files `recover` must repair.

use std::fs::File;
use std::path::{Path, PathBuf};

use npaa_testutil::child::arg;

/// `reliability_placeholder`'s writer: writes `NPAA_PLACEHOLDER_PATH` with the streaming writer
/// `NPAA_PLACEHOLDER_WRITER` names, says READY and waits, the writer open, to be killed:
/// - `npyz-1d`: npyz `begin_1d`, f64 0, 1, ..., 6;
/// - `npyz-2d-c`: npyz `begin_2d(3)`, C order, i32 0..14: four whole rows and two items of a
///   fifth;
/// - `npyz-2d-f`: the same in Fortran order;
/// - `npy-0.4`: npy 0.4 `OutFile`, f64 0..3000 through its 8 KiB `BufWriter`.
pub fn placeholder_writer() {
    let path = PathBuf::from(arg("NPAA_PLACEHOLDER_PATH"));
    let open_writer = write(&arg("NPAA_PLACEHOLDER_WRITER"), &path);
    println!("READY");
    loop {
        std::thread::sleep(std::time::Duration::from_secs(1));
        let _ = &open_writer;
    }
}

/// Writes with the real crate, and returns the writer, still open.
fn write(writer: &str, path: &Path) -> Box<dyn std::any::Any> {
    use npyz::WriterBuilder;
    match writer {
        "npyz-1d" => {
            let file = File::create(path).unwrap();
            let mut w = npyz::WriteOptions::<f64>::new()
                .default_dtype()
                .writer(file)
                .begin_1d()
                .unwrap();
            for i in 0..7 {
                w.push(&f64::from(i)).unwrap();
            }
            Box::new(w)
        }
        "npyz-2d-c" | "npyz-2d-f" => {
            let order = if writer == "npyz-2d-c" {
                npyz::Order::C
            } else {
                npyz::Order::Fortran
            };
            let file = File::create(path).unwrap();
            let mut w = npyz::WriteOptions::<i32>::new()
                .default_dtype()
                .order(order)
                .writer(file)
                .begin_2d(3)
                .unwrap();
            for i in 0..14 {
                w.push(&i).unwrap();
            }
            Box::new(w)
        }
        "npy-0.4" => {
            let mut w = npy::OutFile::<f64>::open(path).unwrap();
            for i in 0..3000 {
                w.push(&f64::from(i)).unwrap();
            }
            Box::new(w)
        }
        _ => panic!("unknown writer {writer}"),
    }
}
