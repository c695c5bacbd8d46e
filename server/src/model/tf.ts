/**
 * TensorFlow.js as PhaseLens uses it: core and layers, and the plain-JavaScript backend (the last
 * fallback, and the tests' reference). Not the umbrella package `@tensorflow/tfjs`, whose
 * converter, data and WebGL backend PhaseLens never uses and which took twice as long to load at
 * every start of the CLI (104 against 54 ms with the wasm backend).
 */
export * from '@tensorflow/tfjs-core';
export * from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
