"""Explanation methods: the CAM family, perturbation and pixel methods, Dense Attention, Hessian-CIAM."""
