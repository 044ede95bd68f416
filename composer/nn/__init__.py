"""The NumPy network: arrays in, arrays out. It never knows what a note is.

- `composer.nn.rnn`: the course's step-by-step RNN/LSTM API, the readable reference;
- `composer.nn.lstm`: the fused LSTM layer that training uses;
- `composer.nn.model`: the token model (lookup, stacked layers, softmax head);
- `composer.nn.condition`: layer 0's input, token and conditioning rows, and gradients;
- `composer.nn.optim`: Adam, SGD and gradient clipping (the course's `clip` too).

These modules import NumPy and each other, nothing else of composer
(tests/test_architecture.py checks it).
"""
