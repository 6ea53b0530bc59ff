use flag_macros::feature_flag;

#[feature_flag]
fn checkout() {}

fn main() {}
