workway_sdk::integration! {
    name: "My Integration",
    actions: [nothing],
}

fn main() {}
