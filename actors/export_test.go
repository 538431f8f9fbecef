package actors

// InjectPanic makes e's leader-watch actor panic, for supervision tests.
func InjectPanic(e *Election) {
	e.system.Root.Send(e.watchPID.Load(), &panicNow{})
}
