-- An app that loads @name@ from the build folder, for its tests.
return { name = "@name@-test" }
