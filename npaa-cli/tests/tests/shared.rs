//! `npaa append --shared [--timeout SECS]`: many commands appending to one DEST at once, each
//! source landing whole; the waits for the lock; the refused combinations.

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use npaa_core::AppendArray;

use crate::common::*;

#[test]
fn many_shared_commands_append_to_one_dest_at_once() {
    let dir = tempdir();
    let d = dir.path();
    // 12 sources: source k holds k + 1 rows, every value k.
    make(
        d,
        "for k in range(12):\n    save(f's{k}.npy', np.full((k + 1, 3), k, dtype='<i8'))",
    );
    let dest = d.join("all.npy");
    // 4 commands at once, 3 sources each, DEST created by whichever appends first.
    let commands: Vec<Child> = (0..4)
        .map(|c| {
            let mut cmd = std::process::Command::new(npaa_path());
            cmd.args(["append", "--shared"]).arg(&dest);
            for k in (c..12).step_by(4) {
                cmd.arg(d.join(format!("s{k}.npy")));
            }
            cmd.stdout(Stdio::null()).spawn().unwrap()
        })
        .collect();
    for mut c in commands {
        assert!(c.wait().unwrap().success());
    }
    run_python(
        "import sys, numpy as np\n\
         a = np.load(sys.argv[1])\n\
         assert a.shape == (78, 3), a.shape\n\
         i, seen = 0, []\n\
         while i < len(a):\n\
         \x20   k = int(a[i, 0])\n\
         \x20   assert (a[i:i + k + 1] == k).all(), (i, k)\n\
         \x20   seen.append(k)\n\
         \x20   i += k + 1\n\
         assert sorted(seen) == list(range(12)), seen\n",
        &[&dest],
    );
    npaa().args(["check"]).arg(&dest).assert().success();
}

#[test]
fn shared_commands_wait_for_the_lock_up_to_the_timeout() {
    let dir = tempdir();
    let d = dir.path();
    make(d, "save('s.npy', np.arange(3.0))");
    let dest = d.join("dest.npy");
    let holder = AppendArray::open(&dest).unwrap();
    holder.append(&[0.0f64], &[1]).unwrap();
    let before = bytes(&dest);
    let t = Instant::now();
    let out = npaa()
        .args(["append", "--shared", "--timeout", "0.3"])
        .arg(&dest)
        .arg(d.join("s.npy"))
        .assert()
        .code(2)
        .get_output()
        .clone();
    assert!(t.elapsed() >= Duration::from_millis(300));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("locked by another writer"), "{stderr}");
    assert_eq!(bytes(&dest), before);
    // Without --shared, fails at once unless told to wait; with a wait, gets in once the
    // holder lets go.
    npaa()
        .args(["append"])
        .arg(&dest)
        .arg(d.join("s.npy"))
        .assert()
        .code(2);
    let waiter = std::process::Command::new(npaa_path())
        .args(["append", "--timeout", "inf"])
        .arg(&dest)
        .arg(d.join("s.npy"))
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    holder.close().unwrap();
    let mut waiter = waiter;
    assert!(waiter.wait().unwrap().success());
    assert_numpy_loads(&dest, "np.array([0.0, 0.0, 1.0, 2.0])");
    for bad in ["-1", "soon", "nan"] {
        npaa()
            .args(["append", "--shared", "--timeout", bad])
            .arg(&dest)
            .arg(d.join("s.npy"))
            .assert()
            .code(2);
    }
}

#[test]
fn shared_refuses_what_cannot_work() {
    let dir = tempdir();
    let d = dir.path();
    make(
        d,
        "save('s.npy', np.arange(3.0))\nsave('dest.npy', np.arange(2.0))",
    );
    let dest = d.join("dest.npy");
    let before = bytes(&dest);
    for extra in [&["--delete-if-exists"][..], &["--buffer", "4096"]] {
        let out = npaa()
            .args(["append", "--shared"])
            .args(extra)
            .arg(&dest)
            .arg(d.join("s.npy"))
            .assert()
            .code(2)
            .get_output()
            .clone();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("cannot be combined"), "{extra:?}: {stderr}");
        assert_eq!(bytes(&dest), before);
    }
}
