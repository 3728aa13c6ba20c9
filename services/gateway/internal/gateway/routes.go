package gateway

import (
	"fmt"
	"net/http"
	"strings"

	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// unmatchedRoute names a request no route answers: span names, log lines
// and metrics never carry a raw path (one name per id).
const unmatchedRoute = "unmatched"

// routes names each request by its route template, for example
// "GET /api/v1/labs/{id}": the gateway's own routes (the patterns of its
// mux) and the REST bindings of the services' methods it transcodes.
type routes struct {
	mux       *http.ServeMux
	catchAll  string // the mux pattern of the transcoder
	templates []template
}

// template is a REST binding: /api/v1/labs/{lab_id}/years/{year}:close.
type template struct {
	method   string
	segments []string // literals, or "" for a variable
	verb     string
	name     string
}

// newRoutes reads the REST bindings (google.api.http) of services.
func newRoutes(mux *http.ServeMux, catchAll string, services []string) (*routes, error) {
	r := &routes{mux: mux, catchAll: catchAll}
	for _, name := range services {
		found, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(name))
		if err != nil {
			return nil, fmt.Errorf("service %s: %w", name, err)
		}
		service, ok := found.(protoreflect.ServiceDescriptor)
		if !ok {
			return nil, fmt.Errorf("%s is not a service", name)
		}
		for i := range service.Methods().Len() {
			rule, _ := proto.GetExtension(service.Methods().Get(i).Options(), annotations.E_Http).(*annotations.HttpRule)
			for _, binding := range append([]*annotations.HttpRule{rule}, rule.GetAdditionalBindings()...) {
				if method, path := bindingOf(binding); method != "" {
					r.templates = append(r.templates, parseTemplate(method, path))
				}
			}
		}
	}
	return r, nil
}

func bindingOf(rule *annotations.HttpRule) (method, path string) {
	switch pattern := rule.GetPattern().(type) {
	case *annotations.HttpRule_Get:
		return http.MethodGet, pattern.Get
	case *annotations.HttpRule_Put:
		return http.MethodPut, pattern.Put
	case *annotations.HttpRule_Post:
		return http.MethodPost, pattern.Post
	case *annotations.HttpRule_Delete:
		return http.MethodDelete, pattern.Delete
	case *annotations.HttpRule_Patch:
		return http.MethodPatch, pattern.Patch
	case *annotations.HttpRule_Custom:
		return pattern.Custom.GetKind(), pattern.Custom.GetPath()
	}
	return "", ""
}

func parseTemplate(method, path string) template {
	t := template{method: method, name: method + " " + path}
	if i := strings.LastIndex(path, ":"); i > strings.LastIndex(path, "}") {
		path, t.verb = path[:i], path[i+1:]
	}
	for _, segment := range strings.Split(strings.Trim(path, "/"), "/") {
		if strings.HasPrefix(segment, "{") {
			segment = ""
		}
		t.segments = append(t.segments, segment)
	}
	return t
}

// name returns the route of req: its mux pattern, or the binding of the
// method the transcoder calls; unmatchedRoute when none.
func (r *routes) name(req *http.Request) string {
	if _, pattern := r.mux.Handler(req); pattern != "" && pattern != r.catchAll {
		return pattern
	}
	path := strings.Trim(req.URL.Path, "/")
	best, bestLiterals := unmatchedRoute, -1
	for i := range r.templates {
		t := &r.templates[i]
		if literals, ok := t.match(req.Method, path); ok && literals > bestLiterals {
			best, bestLiterals = t.name, literals
		}
	}
	return best
}

// match reports whether path fits t, and by how many literal segments (the
// most literal template wins: /labs/{id} and /labs/me).
func (t *template) match(method, path string) (int, bool) {
	if method != t.method && (method != http.MethodHead || t.method != http.MethodGet) {
		return 0, false
	}
	if t.verb != "" {
		var ok bool
		if path, ok = strings.CutSuffix(path, ":"+t.verb); !ok {
			return 0, false
		}
	}
	segments := strings.Split(path, "/")
	if len(segments) != len(t.segments) {
		return 0, false
	}
	literals := 0
	for i, segment := range segments {
		switch t.segments[i] {
		case "":
			if segment == "" {
				return 0, false
			}
		case segment:
			literals++
		default:
			return 0, false
		}
	}
	return literals, true
}
