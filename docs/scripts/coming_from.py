"""Coming from statsmodels / optimagic / R maxLik / Stata ml: the same custom-likelihood fit in jaxmle and statsmodels.

Source of docs/coming-from.md (run: python docs/scripts/coming_from.py; needs statsmodels).
"""

import numpy as np

PAGE = "coming-from.md"
QUOTED = {"beta1": "0.329", "se_oim": "0.050", "se_robust": "0.045"}


def main(img_dir=None):
    rng = np.random.default_rng(5)
    n = 300
    X = np.column_stack([np.ones(n), rng.normal(size=n), rng.normal(size=n)])
    y = rng.poisson(np.exp(X @ np.array([0.3, 0.3, -0.2]))).astype(float)

    # --8<-- [start:jaxmle]
    import jax.numpy as jnp
    import jaxmle
    from jax.scipy import stats

    def loglik(params, data):
        return stats.poisson.logpmf(data["y"], jnp.exp(data["X"] @ params["beta"]))

    res = jaxmle.maximize(loglik, {"beta": jnp.zeros(3)}, {"X": X, "y": y}, cov_type="robust")
    print(res.params["beta"], res.stderr["beta"])
    # --8<-- [end:jaxmle]

    # --8<-- [start:statsmodels]
    import scipy.stats
    from statsmodels.base.model import GenericLikelihoodModel

    class PoissonRegression(GenericLikelihoodModel):
        def loglikeobs(self, params):
            return scipy.stats.poisson.logpmf(self.endog, np.exp(self.exog @ params))

    sm_res = PoissonRegression(y, X).fit(start_params=np.zeros(3), method="newton", cov_type="HC0", disp=0)
    print(sm_res.params, sm_res.bse)
    # --8<-- [end:statsmodels]

    # jaxmle's analytic derivatives against statsmodels' numerical ones (their tolerance), and against
    # statsmodels' analytic Poisson model (tight).
    import statsmodels.api as sm

    exact = sm.Poisson(y, X).fit(disp=0, tol=1e-12, cov_type="HC0")
    assert res.converged
    np.testing.assert_allclose(res.params["beta"], sm_res.params, rtol=0, atol=1e-6)
    np.testing.assert_allclose(res.stderr["beta"], sm_res.bse, rtol=1e-4)
    np.testing.assert_allclose(res.params["beta"], exact.params, rtol=0, atol=1e-9)
    np.testing.assert_allclose(res.stderr["beta"], exact.bse, rtol=1e-7)
    oim_se = np.sqrt(np.diag(np.linalg.inv(-exact.model.hessian(exact.params))))
    quoted = {"beta1": res.params["beta"][1], "se_oim": oim_se[1], "se_robust": res.stderr["beta"][1]}
    return {key: float(value) for key, value in quoted.items()}


if __name__ == "__main__":
    print(main())
