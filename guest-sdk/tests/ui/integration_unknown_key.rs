workway_sdk::integration! {
    name: "fine",
    actoins: [nothing],
}

fn main() {}
