"""Learning-rate schedules that the tests build from the config (callbacks/)."""


def halve(epoch, learning_rate):
    """Keras' LearningRateScheduler calls it with the epoch and the rate: half of it each epoch."""
    return learning_rate / 2
