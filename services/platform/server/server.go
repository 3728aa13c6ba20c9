// Package server hosts a service's Connect handlers: HTTP/1.1 and h2c on one
// port, grpchealth, grpcreflect, compression, /health, /ready, /metrics, the
// shared interceptor chain and a graceful shutdown.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/grpchealth"
	"connectrpc.com/grpcreflect"
	"connectrpc.com/otelconnect"
)

// Config is the serving part of every service's configuration.
type Config struct {
	// ReadHeaderTimeout bounds how long a client may take to send headers.
	// There is deliberately no whole-request read or write timeout: it
	// would cut long-lived streams (uploads, file downloads), which are
	// bounded by Limits instead.
	ReadHeaderTimeout time.Duration `env:"READ_HEADER_TIMEOUT, default=10s"`
	Limits            Limits
	// ShutdownTimeout is how long in-flight requests get to finish after
	// SIGTERM before connections are closed.
	ShutdownTimeout time.Duration `env:"SHUTDOWN_TIMEOUT, default=25s"`
	// Debug serves Go's profiler at /debug/pprof/ (never expose it publicly).
	Debug bool `env:"DEBUG, default=false"`
}

// MountDebug serves Go's profiler on mux when cfg.Debug is set.
func MountDebug(mux *http.ServeMux, cfg Config) {
	if cfg.Debug {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	}
}

// Server is one service's HTTP server. Mount handlers, then Serve.
type Server struct {
	cfg      Config
	logger   *slog.Logger
	mux      *http.ServeMux
	health   *grpchealth.StaticChecker
	services []string
	ready    func(context.Context) error
}

// New returns a server exposing metrics at /metrics.
func New(cfg Config, logger *slog.Logger, metrics http.Handler) *Server {
	s := &Server{
		cfg:    cfg,
		logger: logger,
		mux:    http.NewServeMux(),
		health: grpchealth.NewStaticChecker(),
		ready:  func(context.Context) error { return nil },
	}
	s.mux.Handle("GET /metrics", metrics)
	MountDebug(s.mux, cfg)
	s.mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	s.mux.HandleFunc("GET /ready", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := s.ready(r.Context()); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, "not ready: %v\n", err)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	return s
}

// SetReadiness sets the check behind /ready (for example, the database
// answers).
func (s *Server) SetReadiness(check func(context.Context) error) { s.ready = check }

// HandlerOptions are the options every Connect handler of this server takes.
// The interceptor chain runs telemetry first, then the error edge, then the
// given interceptors (authentication slots in here), then the handler.
func (s *Server) HandlerOptions(interceptors ...connect.Interceptor) ([]connect.HandlerOption, error) {
	telemetry, err := otelconnect.NewInterceptor(otelconnect.WithTrustRemote())
	if err != nil {
		return nil, fmt.Errorf("telemetry interceptor: %w", err)
	}
	chain := append([]connect.Interceptor{telemetry, errorInterceptor{s.logger}, defaultDeadline{s.cfg.Limits.RequestTimeout}}, interceptors...)
	return []connect.HandlerOption{
		connect.WithInterceptors(chain...),
		connect.WithRecover(recoverPanic(s.logger)),
		connect.WithCompressMinBytes(1024),
		connect.WithReadMaxBytes(int(s.cfg.Limits.MaxMessageBytes)),
	}, nil
}

// Mount serves a Connect service, as returned by its generated
// New...Handler, and reports it in health checks and reflection.
func (s *Server) Mount(serviceName, path string, handler http.Handler) {
	s.mux.Handle(path, handler)
	s.services = append(s.services, serviceName)
	s.health.SetStatus(serviceName, grpchealth.StatusServing)
}

// Handler returns everything mounted so far, with health and reflection.
func (s *Server) Handler() http.Handler {
	s.health.SetStatus("", grpchealth.StatusServing)
	mux := http.NewServeMux()
	mux.Handle("/", s.mux)
	mux.Handle(grpchealth.NewHandler(s.health))
	reflector := grpcreflect.NewStaticReflector(s.services...)
	mux.Handle(grpcreflect.NewHandlerV1(reflector))
	mux.Handle(grpcreflect.NewHandlerV1Alpha(reflector))
	return mux
}

// Serve answers on ln until ctx ends, then reports NOT_SERVING and lets
// in-flight requests finish within ShutdownTimeout.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	return ServeHTTP(ctx, s.cfg, s.logger, ln, s.Handler(), func() {
		for _, name := range append([]string{""}, s.services...) {
			s.health.SetStatus(name, grpchealth.StatusNotServing)
		}
	})
}

// ServeHTTP serves handler on ln (HTTP/1.1 and h2c) until ctx ends, then
// calls draining and shuts down gracefully.
func ServeHTTP(ctx context.Context, cfg Config, logger *slog.Logger, ln net.Listener, handler http.Handler, draining func()) error {
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	srv := &http.Server{
		Handler:           boundBodies(cfg.Limits, handler),
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		IdleTimeout:       cfg.Limits.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		HTTP2:             cfg.Limits.HTTP2(),
		Protocols:         &protocols,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	logger.Info("listening", "addr", ln.Addr().String())

	select {
	case err := <-served:
		return fmt.Errorf("serve %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	logger.Info("shutting down", "timeout", cfg.ShutdownTimeout.String())
	if draining != nil {
		draining()
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// ListenAndServe listens on addr and calls Serve.
func (s *Server) ListenAndServe(ctx context.Context, addr string) error {
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	return s.Serve(ctx, ln)
}
