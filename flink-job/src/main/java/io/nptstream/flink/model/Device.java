package io.nptstream.flink.model;

/** Where ONNX Runtime runs the graph. */
public enum Device { CPU, CUDA }
