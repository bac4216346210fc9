package workflows

// SetSummaryBudget sets the summary's size budget for a test and returns a
// function that restores it.
func SetSummaryBudget(n int) (restore func()) {
	old := summaryBudget
	summaryBudget = n
	return func() { summaryBudget = old }
}
