return { check = { drift = "off" } }
