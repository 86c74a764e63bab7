process.env.TEST_BACKEND = "cluster";
