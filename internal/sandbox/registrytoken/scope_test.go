package registrytoken

import (
	"reflect"
	"testing"
)

func TestParseScopes(t *testing.T) {
	tests := []struct {
		name    string
		in      []string
		want    []Access
		wantErr bool
	}{
		{name: "none", in: nil, want: nil},
		{name: "pull", in: []string{"repository:proj/app:pull"},
			want: []Access{{"repository", "proj/app", []string{"pull"}}}},
		{name: "pull and push", in: []string{"repository:proj/app:pull,push"},
			want: []Access{{"repository", "proj/app", []string{"pull", "push"}}}},
		{name: "nested repository", in: []string{"repository:proj/team/app:pull"},
			want: []Access{{"repository", "proj/team/app", []string{"pull"}}}},
		{name: "host with port in name", in: []string{"repository:localhost:5000/proj/app:push"},
			want: []Access{{"repository", "localhost:5000/proj/app", []string{"push"}}}},
		{name: "several params", in: []string{"repository:a/x:pull", "repository:b/y:pull,push"},
			want: []Access{{"repository", "a/x", []string{"pull"}}, {"repository", "b/y", []string{"pull", "push"}}}},
		{name: "space separated in one param", in: []string{"repository:a/x:pull repository:b/y:push"},
			want: []Access{{"repository", "a/x", []string{"pull"}}, {"repository", "b/y", []string{"push"}}}},
		{name: "catalog", in: []string{"registry:catalog:*"},
			want: []Access{{"registry", "catalog", []string{"*"}}}},
		{name: "type with class", in: []string{"repository(plugin):proj/app:pull"},
			want: []Access{{"repository(plugin)", "proj/app", []string{"pull"}}}},
		{name: "duplicate and empty actions dropped", in: []string{"repository:proj/app:pull,,pull,push"},
			want: []Access{{"repository", "proj/app", []string{"pull", "push"}}}},
		{name: "no actions", in: []string{"repository:proj/app:"},
			want: []Access{{"repository", "proj/app", []string{}}}},
		{name: "empty param ignored", in: []string{""}, want: nil},
		{name: "missing actions part", in: []string{"repository:proj/app"}, wantErr: true},
		{name: "type only", in: []string{"repository"}, wantErr: true},
		{name: "empty type", in: []string{":proj/app:pull"}, wantErr: true},
		{name: "empty name", in: []string{"repository::pull"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseScopes(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestAccessString(t *testing.T) {
	a := Access{Type: "repository", Name: "proj/app", Actions: []string{"pull", "push"}}
	if got := a.String(); got != "repository:proj/app:pull,push" {
		t.Fatalf("String() = %q", got)
	}
	back, err := ParseScopes([]string{a.String()})
	if err != nil || !reflect.DeepEqual(back, []Access{a}) {
		t.Fatalf("round trip = %v, %v", back, err)
	}
}
