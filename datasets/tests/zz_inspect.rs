use arrow::array::{Array, AsArray};
#[test]
fn inspect() {
    for f in ["jailbreak_test", "pii_test", "domain_test", "routing_log"] {
        let b = datasets::parquet_io::read_parquet(std::path::Path::new(&format!("/tmp/dsfull2/{f}.parquet"))).unwrap();
        println!("== {f} {:?}", b.schema().fields().iter().map(|f| format!("{}:{}", f.name(), f.data_type())).collect::<Vec<_>>());
        println!("meta {:?}", datasets::parquet_io::read_key_value(std::path::Path::new(&format!("/tmp/dsfull2/{f}.parquet")), "routelab.schema").unwrap());
        for i in [0usize, 7, 150] {
            let mut s = String::new();
            for c in 0..b.num_columns() {
                let col = b.column(c);
                let v = arrow::util::display::array_value_to_string(col, i).unwrap();
                s.push_str(&format!(" | {}", v.chars().take(300).collect::<String>()));
            }
            println!("{i}: {s}");
        }
        let _ = b.column(0).as_string::<i32>().len();
    }
}
