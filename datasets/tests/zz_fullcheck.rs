use arrow::array::AsArray;
use datasets::dedup::*;
#[test]
fn full_leak() {
    for prefix in ["domain", "jailbreak"] {
        let read = |s: &str| {
            let b = datasets::parquet_io::read_parquet(std::path::Path::new(&format!("/tmp/dsfull4/{prefix}_{s}.parquet"))).unwrap();
            b.column(0).as_string::<i32>().iter().map(|v| v.unwrap().to_string()).collect::<Vec<_>>()
        };
        let train: Vec<Vec<u64>> = read("train").iter().map(|t| shingles(t)).collect();
        let mut worst = 0.0f64; let mut n = 0;
        for s in ["validation", "test"] {
            for t in read(s) { let sh = shingles(&t); for tr in &train { let j = jaccard(&sh, tr); if j > worst { worst = j; } if j >= NEAR_DUP_JACCARD { n += 1; } } }
        }
        println!("{prefix}: max jaccard eval-vs-train {worst:.3}, pairs >= 0.8: {n}");
    }
}
