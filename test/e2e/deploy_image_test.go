//go:build integration

package e2e

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// No Docker engine runs in CI, so the Dockerfile is checked piece by piece: its Go build command,
// run here as written, gives a static, stripped binary that runs on distroless/static; its COPY
// lines and .dockerignore bring in every package the binary needs; the final stage runs it as
// nonroot.
func TestDockerfileBuildsAStaticBinary(t *testing.T) {
	root := deployDir(t, ".")
	steps := dockerfileInstructions(t, filepath.Join(root, "Dockerfile"))

	var froms, copies []string
	var build, user, entrypoint string
	for _, s := range steps {
		instr, rest, _ := strings.Cut(s, " ")
		switch strings.ToUpper(instr) {
		case "FROM":
			froms = append(froms, rest)
		case "COPY":
			if !strings.HasPrefix(rest, "--from") {
				copies = append(copies, strings.Fields(rest)[0])
			}
		case "RUN":
			if strings.Contains(rest, "go build") {
				build = rest
			}
		case "USER":
			user = rest
		case "ENTRYPOINT":
			entrypoint = rest
		}
	}
	if len(froms) != 2 || !strings.Contains(froms[0], "golang:1.26") || froms[1] != "gcr.io/distroless/static:nonroot" {
		t.Errorf("want a golang:1.26 build stage and a gcr.io/distroless/static:nonroot final stage, got %q", froms)
	}
	if user != "65532:65532" || entrypoint != `["/rotator"]` {
		t.Errorf("final stage: want USER 65532:65532 and ENTRYPOINT [\"/rotator\"], got %q %q", user, entrypoint)
	}
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", `-ldflags="-s -w"`, "./cmd/rotator"} {
		if !strings.Contains(build, want) {
			t.Errorf("the build RUN lacks %s: %q", want, build)
		}
	}

	// The build as the Dockerfile runs it.
	bin := filepath.Join(t.TempDir(), "rotator")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "./cmd/rotator")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("the binary asks for a dynamic loader: distroless/static has none")
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) != 0 {
		t.Errorf("the binary needs shared libraries %v", libs)
	}
	if f.Section(".symtab") != nil {
		t.Errorf("the binary keeps its symbol table: -ldflags=-s did not apply")
	}

	// Every package of the module the binary imports is in the build context.
	list := exec.Command("go", "list", "-deps", "-f", "{{if .Module}}{{if .Module.Main}}{{.Dir}}{{end}}{{end}}", "./cmd/rotator")
	list.Dir = root
	out, err := list.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	ignore, err := os.ReadFile(filepath.Join(root, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	allowed := strings.Fields(string(ignore))
	for _, dir := range strings.Fields(string(out)) {
		rel, err := filepath.Rel(root, dir)
		if err != nil {
			t.Fatal(err)
		}
		top := strings.SplitN(filepath.ToSlash(rel), "/", 2)[0] + "/"
		if !slices.Contains(copies, top) {
			t.Errorf("package %s is not copied into the build stage (COPY %s)", rel, top)
		}
		if !slices.Contains(allowed, "!"+top) {
			t.Errorf("package %s is excluded by .dockerignore (add !%s)", rel, top)
		}
	}
}

// dockerfileInstructions returns the instructions of a Dockerfile, continuation lines joined and
// comments dropped.
func dockerfileInstructions(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	cur := ""
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "#") || (line == "" && cur == "") {
			continue
		}
		if strings.HasSuffix(line, `\`) {
			cur += strings.TrimSuffix(line, `\`) + " "
			continue
		}
		cur += line
		out = append(out, strings.Join(strings.Fields(cur), " "))
		cur = ""
	}
	return out
}
