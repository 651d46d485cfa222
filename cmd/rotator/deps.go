package main

import "os"

func defaultDeps() deps { return deps{stderr: os.Stderr} }
