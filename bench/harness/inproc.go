package main

import (
	"context"

	"github.com/synod/synod/bench/harness/inproc"
	"github.com/synod/synod/bench/harness/result"
)

// The scenarios that run inside this process live in bench/inproc.

func runConfirm(ctx context.Context, r *run) ([]result.Row, error) {
	return runInproc(ctx, r, "confirm", inproc.Confirm)
}

func runElect(ctx context.Context, r *run) ([]result.Row, error) {
	return runInproc(ctx, r, "elect", inproc.Elect)
}

func runTransport(ctx context.Context, r *run) ([]result.Row, error) {
	return runInproc(ctx, r, "transport", inproc.Transport)
}

func runInproc(ctx context.Context, r *run, name string,
	f func(context.Context, inproc.Options) ([]result.Row, error)) ([]result.Row, error) {
	bar := r.progress.Bar(name, 0)
	defer bar.Finish()
	return f(ctx, inproc.Options{Quick: r.set.Quick, Progress: bar.Set})
}
