-- The sample app: one resource of each kind the framework offers.
return {
    name = "sample",
}
