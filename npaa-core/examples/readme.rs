use npaa_core::{AppendOptions, Durability};

fn main() -> Result<(), npaa_core::Error> {
    let array = AppendOptions::new()
        .delete_if_exists(true) // a new file on every run
        .durability(Durability::OnClose)
        .open("states.npy")?; // created by the first append
    for step in 0..1000u32 {
        let row = [f64::from(step), 0.5 * f64::from(step), -1.0];
        array.append(&row, &[1, 3])?; // block shape (1, 3): grows axis 0
    }
    array.close()?; // np.load("states.npy").shape == (1000, 3)
    Ok(())
}
