import { describe, expect, it } from '@jest/globals';
import { CircuitBreaker } from './circuit-breaker.js';

function breaker() {
  let now = 1_000_000;
  const circuit = new CircuitBreaker(
    { windowMs: 10_000, minimumCalls: 20, failureRatio: 0.5, openMs: 5_000 },
    () => now,
  );
  return { circuit, advance: (ms: number) => (now += ms) };
}

describe('CircuitBreaker', () => {
  it('stays closed below the minimum number of calls, even if all fail', () => {
    const { circuit } = breaker();
    for (let call = 0; call < 19; call++) circuit.record(true);
    expect(circuit.refusal()).toBeUndefined();
  });

  it('opens when most calls of the window fail, refusing with the seconds left', () => {
    const { circuit, advance } = breaker();
    for (let call = 0; call < 10; call++) circuit.record(false);
    for (let call = 0; call < 10; call++) circuit.record(true);
    expect(circuit.refusal()).toBe(5);
    advance(2_100);
    expect(circuit.refusal()).toBe(3);
  });

  it('stays closed while fewer than half fail, and forgets calls older than the window', () => {
    const { circuit, advance } = breaker();
    for (let call = 0; call < 15; call++) circuit.record(true);
    advance(11_000);
    for (let call = 0; call < 15; call++) circuit.record(false);
    for (let call = 0; call < 10; call++) circuit.record(true);
    expect(circuit.refusal()).toBeUndefined();
  });

  it('lets one probe through after the open period; its success closes, its failure reopens', () => {
    const { circuit, advance } = breaker();
    for (let call = 0; call < 20; call++) circuit.record(true);
    advance(5_000);
    expect(circuit.refusal()).toBeUndefined();
    expect(circuit.refusal()).toBe(1);
    circuit.record(true);
    expect(circuit.refusal()).toBe(5);
    advance(5_000);
    expect(circuit.refusal()).toBeUndefined();
    circuit.record(false);
    expect(circuit.refusal()).toBeUndefined();
    expect(circuit.refusal()).toBeUndefined();
  });
});
