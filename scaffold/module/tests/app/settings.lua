return {
    modules = {
        @name@ = { path = "../../build/@name@.so", greeting = "Hi" },
    },
}
