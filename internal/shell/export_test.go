package shell

// StoreRetry is how often the learner saves again the decisions whose save
// failed, for the tests of that.
const StoreRetry = storeRetry
